"""``/agent/sandbox``: the gateway in-process (and under uvicorn for the WebSocket) in front of a
real sandboxd process; real PostgreSQL and NATS behind the gateway as always."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import socket
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from pydantic import TypeAdapter, ValidationError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bdg_contracts import sandbox as sb
from bdg_gateway import sandbox_deps, sandbox_routes
from bdg_gateway.app import create_app
from bdg_sandbox.client import SandboxClient, SandboxRequestError, SandboxUnavailableError
from tests.gateway_stack import Keys, Stack, new_tenant
from tests.sandbox.daemon import Daemon, start_daemon
from tests.sandbox.through_gateway import RECV_TIMEOUT, asgi, receive, refused, served
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(90)
BASE = "/agent/sandbox"
OCTETS = "application/octet-stream"
PROTOCOL_WORKSPACE = TypeAdapter[str](sb.WorkspaceId)


# -- fixtures and helpers --------------------------------------------------------------------
@pytest.fixture(name="daemon", scope="module")
async def daemon_fixture() -> AsyncIterator[Daemon]:
    daemon = await start_daemon()
    yield daemon
    code, output = daemon.stop(), daemon.output()
    daemon.remove()  # start_daemon's temporary home (and any disk left mounted there)
    print(output)
    assert code == 0, output


@pytest.fixture(name="sandbox")
async def sandbox_fixture(daemon: Daemon) -> AsyncIterator[SandboxClient]:
    client = daemon.client()
    yield client
    await client.close()


@pytest.fixture(name="gateway")
def gateway_fixture(stack: Stack, keys: Keys, sandbox: SandboxClient) -> FastAPI:
    return create_app(stack.commands, stack.queries, stack.nc, keys.authenticator(), sandbox)


@pytest.fixture(name="client")
async def client_fixture(gateway: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi(gateway) as http:
        yield http


def without_daemon(stack: Stack, keys: Keys, endpoint: str | None) -> FastAPI:
    sandbox = SandboxClient(endpoint, connect_timeout=1.0) if endpoint else None
    return create_app(stack.commands, stack.queries, stack.nc, keys.authenticator(), sandbox)


def nowhere() -> str:
    return f"unix://{tempfile.gettempdir()}/bdg-no-sandbox-{secrets.token_hex(6)}.sock"


def workspace() -> str:
    return "ws-" + secrets.token_hex(4)


async def new_workspace(client: httpx.AsyncClient, keys: Keys, tenant: str) -> str:
    name = workspace()
    response = await client.post(f"{BASE}/workspaces/{name}", json={}, headers=keys.headers(tenant))
    assert response.status_code == 201, response.text
    return name


async def until_exit(ws: ClientConnection) -> tuple[dict[str, str], dict[str, Any]]:
    """Everything the stream sends up to its exit message, then the close."""
    out = {"stdout": "", "stderr": ""}
    while (message := await receive(ws))["type"] != "exit":
        out[message["type"]] += message["data"]
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), RECV_TIMEOUT)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1000
    return out, message


def processes(marker: str) -> list[int]:
    """Pids on this host whose command line is ``sleep <marker>``."""
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and (entry / "cmdline").read_bytes() == marker.encode():
                found.append(int(entry.name))
    return found


# -- no sandboxd -----------------------------------------------------------------------------
async def test_no_daemon_is_a_503_naming_the_endpoint(stack: Stack, keys: Keys) -> None:
    endpoint = nowhere()
    async with asgi(without_daemon(stack, keys, endpoint)) as client:
        response = await client.get(BASE, headers=keys.headers(new_tenant()))
        name = workspace()
        created = await client.post(
            f"{BASE}/workspaces/{name}", json={}, headers=keys.headers(new_tenant())
        )
        ran = await client.post(
            f"{BASE}/workspaces/{name}/exec",
            json={"argv": ["true"]},
            headers=keys.headers(new_tenant()),
        )
    assert response.status_code == 503, response.text
    assert response.json()["detail"].startswith(f"sandbox unavailable at {endpoint}: ")
    assert created.status_code == ran.status_code == 503


async def test_a_stale_socket_is_a_503(stack: Stack, keys: Keys) -> None:
    path = nowhere().removeprefix("unix://")
    with socket.socket(socket.AF_UNIX) as stale:
        stale.bind(path)  # the socket file of a daemon that died: nobody listens
    try:
        async with asgi(without_daemon(stack, keys, f"unix://{path}")) as client:
            response = await client.get(BASE, headers=keys.headers(new_tenant()))
    finally:
        os.unlink(path)
    assert response.status_code == 503, response.text


async def test_a_daemon_that_never_answers_is_a_503_not_a_hang(
    stack: Stack, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox_routes, "HELLO_TIMEOUT", 0.5)
    path = nowhere().removeprefix("unix://")
    silent = await asyncio.start_unix_server(lambda r, w: None, path=path)
    try:
        async with asgi(without_daemon(stack, keys, f"unix://{path}")) as client:
            response = await asyncio.wait_for(
                client.get(BASE, headers=keys.headers(new_tenant())), 10
            )
    finally:
        silent.close()
        os.unlink(path)
    assert response.status_code == 503
    assert "no answer within 0.5s" in response.json()["detail"]


async def test_a_gateway_without_an_endpoint_answers_503(stack: Stack, keys: Keys) -> None:
    async with asgi(without_daemon(stack, keys, None)) as client:
        response = await client.get(BASE, headers=keys.headers(new_tenant()))
    assert response.status_code == 503
    assert response.json()["detail"].startswith("sandbox unavailable")


async def test_the_websocket_without_a_daemon_closes_4503(stack: Stack, keys: Keys) -> None:
    async with served(without_daemon(stack, keys, nowhere())) as url:
        token = keys.token(new_tenant())
        async with connect(f"{url}/workspaces/{workspace()}/exec?token={token}") as ws:
            await ws.send(json.dumps({"argv": ["true"]}))
            message, code = await refused(ws)
    assert code == 4503
    assert message["type"] == "error"
    assert message["status"] == 503
    assert message["detail"].startswith("sandbox unavailable at unix://")


async def test_requests_are_authenticated_and_validated_before_the_sandbox(
    stack: Stack, keys: Keys
) -> None:
    headers = keys.headers(new_tenant())
    async with asgi(without_daemon(stack, keys, nowhere())) as client:
        anonymous = await client.get(BASE)
        bad_name = await client.post(f"{BASE}/workspaces/a%20b", json={}, headers=headers)
        dots = await client.get(f"{BASE}/workspaces/%2E%2E/files", headers=headers)
        host_path = await client.post(
            f"{BASE}/workspaces/{workspace()}", json={"repo": "/etc"}, headers=headers
        )
        file_url = await client.post(
            f"{BASE}/workspaces/{workspace()}", json={"repo": "file:///etc"}, headers=headers
        )
        option = await client.post(
            f"{BASE}/workspaces/{workspace()}",
            json={"repo": "https://example.test/r.git", "commit": "--upload-pack=x"},
            headers=headers,
        )
        no_argv = await client.post(
            f"{BASE}/workspaces/{workspace()}/exec", json={"argv": []}, headers=headers
        )
        too_big = await client.put(
            f"{BASE}/workspaces/{workspace()}/files/big.bin",
            content=b"x" * (sb.MAX_FRAME_BYTES + 1),
            headers=headers,
        )
        huge_exec = await client.post(
            f"{BASE}/workspaces/{workspace()}/exec",
            json={"argv": ["true"], "stdin": "x" * sb.MAX_FRAME_BYTES},
            headers=headers,
        )
    assert anonymous.status_code == 401
    for response in (bad_name, dots, host_path, file_url, option, no_argv):
        assert response.status_code == 422, response.text
    assert too_big.status_code == huge_exec.status_code == 413


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("invalid", 422),
        ("not_found", 404),
        ("quota", 413),
        ("conflict", 409),
        ("unavailable", 503),
        ("internal", 502),
        ("bad_frame", 502),
    ],
)
async def test_protocol_errors_map_to_http(code: str, status: int) -> None:
    async def refusal() -> None:
        raise SandboxRequestError(code, "because")

    with pytest.raises(HTTPException) as raised:
        await sandbox_deps.call(SandboxClient("unix:///x.sock"), refusal(), 1)
    assert raised.value.status_code == status
    assert f"{code}: because" in str(raised.value.detail)


async def test_a_lost_connection_is_a_503() -> None:
    async def lost() -> None:
        raise SandboxUnavailableError("sandboxd went away")

    with pytest.raises(HTTPException) as raised:
        await sandbox_deps.call(SandboxClient("unix:///x.sock"), lost(), 1)
    assert raised.value.status_code == 503
    assert raised.value.detail == "sandbox unavailable at unix:///x.sock: sandboxd went away"


# -- with sandboxd ---------------------------------------------------------------------------
async def test_info_names_the_backend_and_protections(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    response = await client.get(BASE, headers=keys.headers(new_tenant()))
    assert response.status_code == 200, response.text
    info = response.json()
    assert info["backend"] in {"runc", "bwrap"}
    assert info["protections"]["no_network"] is True
    assert info["max_concurrent"] >= 1


async def test_workspace_files_round_trip(client: httpx.AsyncClient, keys: Keys) -> None:
    headers = keys.headers(tenant := new_tenant())
    name = await new_workspace(client, keys, tenant)
    files = f"{BASE}/workspaces/{name}/files"
    content = "héllo\n".encode() + bytes(range(256))
    put = await client.put(f"{files}/src/a.bin", content=content, headers=headers)
    assert put.status_code == 204, put.text
    listed = await client.get(files, params={"path": "src"}, headers=headers)
    assert listed.status_code == 200, listed.text
    assert [(e["size"], e["is_dir"]) for e in listed.json()] == [(len(content), False)]
    assert listed.json()[0]["path"].endswith("a.bin")
    read = await client.get(f"{files}/src/a.bin", headers=headers)
    assert read.status_code == 200
    assert read.content == content
    assert (await client.delete(f"{files}/src/a.bin", headers=headers)).status_code == 204
    assert (await client.get(f"{files}/src/a.bin", headers=headers)).status_code == 404
    escape = await client.get(f"{files}/..%2F..%2Fetc%2Fpasswd", headers=headers)
    assert escape.status_code in {404, 422}, escape.text
    dropped = await client.delete(f"{BASE}/workspaces/{name}", headers=headers)
    assert dropped.status_code == 204
    assert (await client.get(files, headers=headers)).status_code == 404


async def test_a_tenant_cannot_reach_another_tenants_workspace(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    alice, bob = keys.headers(tenant_a := new_tenant()), keys.headers(new_tenant())
    name = await new_workspace(client, keys, tenant_a)
    files = f"{BASE}/workspaces/{name}/files"
    assert (await client.put(f"{files}/secret", content=b"s3", headers=alice)).status_code == 204
    assert (await client.get(f"{files}/secret", headers=bob)).status_code == 404
    assert (await client.get(files, headers=bob)).status_code == 404
    ran = await client.post(
        f"{BASE}/workspaces/{name}/exec", json={"argv": ["cat", "secret"]}, headers=bob
    )
    assert ran.status_code == 404, ran.text
    assert (await client.delete(f"{files}/secret", headers=bob)).status_code == 404
    assert (await client.get(f"{files}/secret", headers=alice)).content == b"s3"


async def test_exec_answers_code_and_output(client: httpx.AsyncClient, keys: Keys) -> None:
    tenant = new_tenant()
    name = await new_workspace(client, keys, tenant)
    response = await client.post(
        f"{BASE}/workspaces/{name}/exec",
        json={"argv": ["sh", "-c", "echo 42; echo oops >&2; exit 3"]},
        headers=keys.headers(tenant),
    )
    assert response.status_code == 200, response.text
    outcome = response.json()
    assert outcome["stdout"] == "42\n"
    assert outcome["stderr"] == "oops\n"
    assert outcome["code"] == 3
    assert outcome["timed_out"] is outcome["oom"] is outcome["output_truncated"] is False
    stdin = await client.post(
        f"{BASE}/workspaces/{name}/exec",
        json={"argv": ["cat"], "stdin": "from stdin ✓"},
        headers=keys.headers(tenant),
    )
    assert stdin.json()["stdout"] == "from stdin ✓"


async def test_exec_in_a_missing_workspace_is_a_404(client: httpx.AsyncClient, keys: Keys) -> None:
    response = await client.post(
        f"{BASE}/workspaces/{workspace()}/exec",
        json={"argv": ["true"]},
        headers=keys.headers(new_tenant()),
    )
    assert response.status_code == 404, response.text


async def test_replies_too_large_for_a_frame_harm_no_other_request(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    alice, bob = new_tenant(), new_tenant()
    mine, theirs = await new_workspace(client, keys, alice), await new_workspace(client, keys, bob)
    big = "head -c 2000000 /dev/zero > big; mkdir many; cd many; seq 1 60000 | xargs touch"
    made = await client.post(
        f"{BASE}/workspaces/{mine}/exec",
        json={"argv": ["sh", "-c", big]},
        headers=keys.headers(alice),
    )
    assert made.json()["code"] == 0, made.text
    # Another tenant's exec runs on the gateway's shared connection meanwhile.
    waiting = "while [ ! -e go ]; do sleep 0.05; done; echo survived"
    other = asyncio.create_task(
        client.post(
            f"{BASE}/workspaces/{theirs}/exec",
            json={"argv": ["sh", "-c", waiting]},
            headers=keys.headers(bob),
        )
    )
    files = f"{BASE}/workspaces/{mine}/files"
    read = await client.get(f"{files}/big", headers=keys.headers(alice))
    assert read.status_code == 413, read.text
    listed = await client.get(files, params={"path": "many"}, headers=keys.headers(alice))
    assert listed.status_code == 413, listed.text  # a reply over 1 MiB
    go = f"{BASE}/workspaces/{theirs}/files/go"
    typed = {**keys.headers(bob), "content-type": OCTETS}
    assert (await client.put(go, content=b"", headers=typed)).status_code == 204
    survived = await asyncio.wait_for(other, 30)
    assert survived.status_code == 200, survived.text
    assert survived.json()["stdout"] == "survived\n"


async def test_the_websocket_streams_output_as_it_comes(
    client: httpx.AsyncClient, gateway: FastAPI, keys: Keys
) -> None:
    tenant = new_tenant()
    name = await new_workspace(client, keys, tenant)
    # The command waits for a file the test writes only after "first" arrived: streamed, not
    # buffered until the end.
    script = (
        "echo first; while [ ! -e /workspace/go ]; do sleep 0.05; done; "
        "echo second; echo warn >&2; echo third"
    )
    async with served(gateway) as url:
        headers = keys.headers(tenant)
        async with connect(f"{url}/workspaces/{name}/exec", additional_headers=headers) as ws:
            await ws.send(json.dumps({"argv": ["sh", "-c", script]}))
            assert await receive(ws) == {"type": "stdout", "data": "first\n"}
            put = await client.put(
                f"{BASE}/workspaces/{name}/files/go",
                content=b"",
                headers={**headers, "content-type": OCTETS},
            )
            assert put.status_code == 204
            out, exit_message = await until_exit(ws)
    assert out == {"stdout": "second\nthird\n", "stderr": "warn\n"}
    assert exit_message["code"] == 0
    assert exit_message["cancelled"] is False


async def test_a_websocket_client_that_leaves_cancels_its_run(
    client: httpx.AsyncClient, gateway: FastAPI, keys: Keys, daemon: Daemon
) -> None:
    tenant = new_tenant()
    name = await new_workspace(client, keys, tenant)
    marker = f"30.{secrets.randbelow(10**6):06d}"  # `sleep 30`, told apart from anyone else's
    async with served(gateway) as url:
        token = keys.token(tenant)
        async with connect(f"{url}/workspaces/{name}/exec?token={token}") as ws:
            await ws.send(json.dumps({"argv": ["sleep", marker]}))
            await eventually(
                lambda: asyncio.to_thread(processes, f"sleep\0{marker}\0"), 20, "sleep to run"
            )

        # The client is gone: the gateway cancels, sandboxd kills the sleep well before 30 s.
        async def gone() -> bool:
            return not await asyncio.to_thread(processes, f"sleep\0{marker}\0")

        await eventually(gone, 15, "the sleep to be killed")
    async with daemon.client() as direct:
        assert (await direct.hello()).backend in {"runc", "bwrap"}


async def test_the_websocket_refuses_bad_requests(
    client: httpx.AsyncClient, gateway: FastAPI, keys: Keys
) -> None:
    tenant = new_tenant()
    name = await new_workspace(client, keys, tenant)
    token = keys.token(tenant)
    async with served(gateway) as url:
        async with connect(f"{url}/workspaces/{name}/exec?token=forged") as ws:
            message, code = await refused(ws)
        assert (code, message["status"]) == (4401, 401)
        async with connect(f"{url}/workspaces/{name}/exec?token={token}") as ws:
            await ws.send(json.dumps({"argv": []}))
            message, code = await refused(ws)
        assert (code, message["status"]) == (4400, 422)
        assert "argv" in message["detail"]
        async with connect(f"{url}/workspaces/{workspace()}/exec?token={token}") as ws:
            await ws.send(json.dumps({"argv": ["true"]}))
            message, code = await refused(ws)
        assert (code, message["status"]) == (4404, 404)
        other = keys.token(new_tenant())
        async with connect(f"{url}/workspaces/{name}/exec?token={other}") as ws:
            await ws.send(json.dumps({"argv": ["true"]}))
            _, code = await refused(ws)
        assert code == 4404


# -- bad input is a 4xx naming the field, with nothing written (issue 11, finding 6) --------
LONG_NAME = "n" * 256  # one byte over NAME_MAX


async def test_a_name_over_255_bytes_is_a_422_naming_the_path(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    headers = keys.headers(tenant := new_tenant())
    files = f"{BASE}/workspaces/{await new_workspace(client, keys, tenant)}/files"
    answers = [
        await client.get(files, params={"path": LONG_NAME}, headers=headers),
        await client.get(files, params={"path": f"src/{'é' * 128}"}, headers=headers),
        await client.get(f"{files}/{LONG_NAME}", headers=headers),
        await client.put(f"{files}/d/{LONG_NAME}", content=b"x", headers=headers),
        await client.delete(f"{files}/{LONG_NAME}", headers=headers),
    ]
    for answer in answers:
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"].startswith("path: "), answer.text
        assert "over 255 bytes" in answer.json()["detail"]
    assert (await client.get(files, headers=headers)).json() == []  # not even the parent "d"


async def test_a_put_without_a_body_is_a_422_and_writes_nothing(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    headers = keys.headers(tenant := new_tenant())
    files = f"{BASE}/workspaces/{await new_workspace(client, keys, tenant)}/files"
    answer = await client.put(f"{files}/empty.txt", headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith("body: ")
    assert (await client.get(files, headers=headers)).json() == []
    # An empty file said so (a media type, no bytes) is still a file.
    typed = {**headers, "content-type": OCTETS}
    assert (await client.put(f"{files}/empty.txt", content=b"", headers=typed)).status_code == 204
    assert [e["size"] for e in (await client.get(files, headers=headers)).json()] == [0]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"argv": ["echo", "a\u0000b"]}, "argv"),
        ({"argv": ["true"], "env": {"A=B": "1"}}, "env"),
        ({"argv": ["true"], "env": {"": "1"}}, "env"),
        ({"argv": ["true"], "env": {"A": "x\u0000y"}}, "env"),
        ({"argv": ["true"], "cwd": "relative"}, "cwd"),
        ({"argv": ["true"], "cwd": "/workspace/a\u0000"}, "cwd"),
        # PATH_MAX counts the NUL: runc's ENAMETOOLONG was a 502 (found by schemathesis).
        ({"argv": ["true"], "cwd": "/0" + ("/" + "0" * 255) * 15 + "/" + "0" * 253}, "cwd"),
    ],
)
async def test_an_exec_the_sandbox_cannot_start_is_a_422_naming_the_field(
    client: httpx.AsyncClient, keys: Keys, body: dict[str, Any], field: str
) -> None:
    headers = keys.headers(tenant := new_tenant())
    name = await new_workspace(client, keys, tenant)
    answer = await client.post(f"{BASE}/workspaces/{name}/exec", json=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert field in json.dumps(answer.json()["detail"]), answer.text


# -- what schemathesis found (tests/integration/test_schemathesis.py), each pinned here --------
def operations_with_a_workspace(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        operation
        for path, operations in spec["paths"].items()
        if path.startswith(f"{BASE}/workspaces/{{workspace}}")
        for operation in operations.values()
    ]


@pytest.mark.parametrize(
    ("name", "valid"),
    [("a", True), ("a..b", True), ("-x_y.z", True), ("w" * 128, True),
     (".", False), ("..", False), ("...", False), (".a", False), ("w" * 129, False),
     ("a b", False), ("", False)],
)  # fmt: skip
def test_the_declared_workspace_pattern_is_the_protocols_without_a_leading_dot(
    name: str, valid: bool
) -> None:
    declared = re.fullmatch(sandbox_deps.WORKSPACE_PATTERN, name) is not None
    assert (declared and len(name) <= sandbox_deps.WORKSPACE_MAX) is valid
    try:
        protocol = bool(PROTOCOL_WORKSPACE.validate_python(name))
    except ValidationError:
        protocol = False
    assert valid is (protocol and not name.startswith("."))


async def test_the_workspace_parameter_is_declared_as_it_is_checked(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    spec = (await client.get("/openapi.json")).json()
    operations = operations_with_a_workspace(spec)
    assert len(operations) == 7
    for operation in operations:
        (parameter,) = [p for p in operation["parameters"] if p["name"] == "workspace"]
        schema = parameter["schema"]
        assert (schema["pattern"], schema["maxLength"]) == (
            sandbox_deps.WORKSPACE_PATTERN,
            sandbox_deps.WORKSPACE_MAX,
        )
    headers = keys.headers(new_tenant())
    for name in ("-x" + secrets.token_hex(3), "a..b" + secrets.token_hex(3), "w" * 124 + "1234"):
        created = await client.post(f"{BASE}/workspaces/{name}", json={}, headers=headers)
        assert created.status_code == 201, created.text
    for name in (".a", "...", "w" * 129, "a%20b"):
        refused = await client.post(f"{BASE}/workspaces/{name}", json={}, headers=headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["loc"] == ["path", "workspace"]


@pytest.mark.parametrize("route", ["", "/exec"])
async def test_a_sandbox_body_that_is_not_utf8_is_a_422_and_runs_nothing(
    client: httpx.AsyncClient, keys: Keys, route: str
) -> None:
    tenant = new_tenant()
    name = workspace() if route == "" else await new_workspace(client, keys, tenant)
    headers = {**keys.headers(tenant), "Content-Type": "application/json"}
    body = b'{"repo": "\xff"}' if route == "" else b'{"argv": ["touch", "\xff"]}'
    response = await client.post(f"{BASE}/workspaces/{name}{route}", content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert "not UTF-8" in response.json()["detail"]
    listed = await client.get(f"{BASE}/workspaces/{name}/files", headers=keys.headers(tenant))
    assert listed.status_code == (404 if route == "" else 200), listed.text
    assert route == "" or listed.json() == []


async def test_a_workspace_built_otherwise_is_a_409_as_documented(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    tenant = new_tenant()
    name = await new_workspace(client, keys, tenant)
    url, headers = f"{BASE}/workspaces/{name}", keys.headers(tenant)
    assert (await client.post(url, json={}, headers=headers)).status_code == 201  # the same again
    again = await client.post(url, json={"commit": "v2"}, headers=headers)
    assert again.status_code == 409, again.text
    assert again.json()["detail"]
    spec = (await client.get("/openapi.json")).json()
    create = spec["paths"][f"{BASE}/workspaces/{{workspace}}"]["post"]["responses"]
    problem = {"$ref": "#/components/schemas/Problem"}
    assert create["409"]["content"]["application/json"]["schema"] == problem
    assert {"201", "401", "404", "409", "413", "422", "503"} <= set(create)
