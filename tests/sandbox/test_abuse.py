"""A hostile tenant against sandboxd (issue 11, findings 3 and 5): limits above the ceilings,
a workspace filled past its quota during an exec, a client that never reads its replies.

Finding 3 is tried through sandboxd and through the gateway's /agent/sandbox proxy (REST and
WebSocket); the gateway's other bad-input routes are in tests/integration/test_gateway_sandbox.py.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import struct
from collections.abc import AsyncIterator

import httpx
import msgpack
import psutil
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import connect

from bdg_contracts import sandbox as sb
from bdg_gateway.app import create_app
from bdg_sandbox.client import SandboxClient, SandboxRequestError
from tests.gateway_stack import Keys, Stack
from tests.sandbox.daemon import Daemon, start_daemon
from tests.sandbox.through_gateway import asgi, refused, served
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(180)
QUOTA_MB = 64
BIG_TENANT = "big"  # whose memory ceiling is raised by SANDBOX_CEILINGS
CEILINGS = {"tenants": {BIG_TENANT: {"memory_mb": 3072}}}
STALL_S = 2.0
# A value above each default ceiling (ceilings.py) and within the protocol's own bounds.
ABOVE = {
    "memory_mb": 3072,
    "pids": 32768,
    "cpus": 64.0,
    "timeout_s": 86400.0,
    "tmp_mb": 65536,
    "output_bytes": 1 << 30,
}
DEFAULT_CEILING = {
    "memory_mb": 2048,
    "pids": 1024,
    "cpus": 4.0,
    "timeout_s": 1800.0,
    "tmp_mb": 512,
    "output_bytes": 16 << 20,
}


@pytest.fixture(scope="module", params=["runc", "bwrap"])
async def daemon(request: pytest.FixtureRequest) -> AsyncIterator[Daemon]:
    daemon = await start_daemon(
        SANDBOX_BACKEND=request.param,
        SANDBOX_TENANT_QUOTA_MB=str(QUOTA_MB),
        SANDBOX_CEILINGS=json.dumps(CEILINGS),
        SANDBOX_CLIENT_STALL_S=str(STALL_S),
    )
    yield daemon
    code = daemon.stop()
    print(daemon.output())
    daemon.remove()
    assert code == 0


@pytest.fixture
async def client(daemon: Daemon) -> AsyncIterator[SandboxClient]:
    async with daemon.client() as client:
        yield client


def tenant() -> str:
    return "t" + secrets.token_hex(4)


# -- finding 3: limits are the operator's, not the caller's ------------------------------------
@pytest.mark.parametrize("name", sorted(ABOVE))
async def test_a_limit_above_its_ceiling_is_refused_naming_it(
    client: SandboxClient, name: str
) -> None:
    who = tenant()
    await client.create_workspace(who, "ws")
    with pytest.raises(SandboxRequestError) as refused:
        await client.exec(who, "ws", ["true"], limits={name: ABOVE[name]})
    assert refused.value.code == "invalid"
    message = str(refused.value)
    assert f"limits.{name}" in message
    assert str(ABOVE[name]) in message
    assert str(DEFAULT_CEILING[name]) in message


async def test_a_3_gib_allocation_is_refused_before_it_runs(client: SandboxClient) -> None:
    who = tenant()
    await client.create_workspace(who, "ws")
    allocate = ["python3", "-c", "b = bytearray(3 << 30); print('allocated')"]
    with pytest.raises(SandboxRequestError, match="memory_mb: asked 4096, ceiling 2048"):
        await client.exec(who, "ws", allocate, limits={"memory_mb": 4096, "timeout_s": 60})


async def test_a_tenant_override_raises_that_tenants_ceiling_only(client: SandboxClient) -> None:
    await client.create_workspace(BIG_TENANT, "ws")
    run = await client.exec(BIG_TENANT, "ws", ["true"], limits={"memory_mb": 3072})
    assert run.ok, run
    other = tenant()
    await client.create_workspace(other, "ws")
    with pytest.raises(SandboxRequestError, match="memory_mb: asked 3072, ceiling 2048"):
        await client.exec(other, "ws", ["true"], limits={"memory_mb": 3072})


async def test_limits_at_the_ceilings_run(client: SandboxClient) -> None:
    who = tenant()
    await client.create_workspace(who, "ws")
    at = {**DEFAULT_CEILING, "timeout_s": 60.0}
    run = await client.exec(who, "ws", ["true"], limits=at)
    assert run.ok, run


@pytest.fixture
async def gateway(
    stack: Stack, keys: Keys, client: SandboxClient
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(stack.commands, stack.queries, stack.nc, keys.authenticator(), client)
    async with asgi(app) as http:
        yield app, http


async def test_the_gateway_refuses_limits_above_the_ceilings_with_a_422(
    gateway: tuple[FastAPI, httpx.AsyncClient], keys: Keys
) -> None:
    _, http = gateway
    headers = keys.headers(who := tenant())
    base = f"/agent/sandbox/workspaces/{secrets.token_hex(4)}"
    assert (await http.post(base, json={}, headers=headers)).status_code == 201
    for name, value in ABOVE.items():
        body = {"argv": ["true"], "limits": {name: value}}
        answer = await http.post(f"{base}/exec", json=body, headers=headers)
        assert answer.status_code == 422, answer.text
        detail = answer.json()["detail"]
        assert f"limits.{name}: asked {value}, ceiling {DEFAULT_CEILING[name]}" in detail
        assert who in detail
    within = await http.post(f"{base}/exec", json={"argv": ["true"]}, headers=headers)
    assert within.status_code == 200, within.text


async def test_the_gateway_websocket_refuses_limits_above_the_ceilings(
    gateway: tuple[FastAPI, httpx.AsyncClient], keys: Keys
) -> None:
    app, http = gateway
    headers = keys.headers(tenant())
    name = secrets.token_hex(4)
    assert (
        await http.post(f"/agent/sandbox/workspaces/{name}", json={}, headers=headers)
    ).status_code == 201
    async with (
        served(app) as url,
        connect(f"{url}/workspaces/{name}/exec", additional_headers=headers) as ws,
    ):
        await ws.send(json.dumps({"argv": ["true"], "limits": {"memory_mb": 3072}}))
        message, code = await refused(ws)
    assert code == 4400
    assert message["status"] == 422
    assert "limits.memory_mb: asked 3072, ceiling 2048" in message["detail"]


# -- finding 3: the workspace's disk is bounded during an exec ---------------------------------
async def test_writing_past_the_quota_in_an_exec_fails_there_and_the_workspace_stays_usable(
    client: SandboxClient, daemon: Daemon
) -> None:
    who = tenant()
    await client.create_workspace(who, "ws")
    fill = ["dd", "if=/dev/zero", "of=/workspace/fill", "bs=1M", f"count={QUOTA_MB * 3}"]
    run = await client.exec(who, "ws", fill, limits={"timeout_s": 120})
    assert run.exited.code != 0, run
    assert b"No space left on device" in run.stderr
    written = (daemon.state / "workspaces" / who / "ws" / "fill").stat().st_size
    assert written <= (QUOTA_MB << 20) + (1 << 20), written  # the quota (and its 1 MiB slack)
    # The write was stopped, not the workspace: clear the file and carry on.
    await client.delete_file(who, "ws", "fill")
    await client.write_file(who, "ws", "after.txt", b"still here\n")
    again = await client.exec(who, "ws", ["sh", "-c", "cat after.txt && head -c 1M /dev/zero > f"])
    assert again.ok, again
    assert again.stdout == b"still here\n"
    welcome = await client.hello()
    assert welcome.protections["disk_quota_during_exec"] is True  # root, loop devices: CI


async def test_the_quota_holds_across_workspaces_of_a_tenant(client: SandboxClient) -> None:
    who = tenant()
    for name in ("one", "two"):
        await client.create_workspace(who, name)
    half = ["dd", "if=/dev/zero", "of=/workspace/half", "bs=1M", f"count={QUOTA_MB * 2 // 3}"]
    first = await client.exec(who, "one", half, limits={"timeout_s": 60})
    assert first.ok, first
    second = await client.exec(who, "two", half, limits={"timeout_s": 60})
    assert second.exited.code != 0
    assert b"No space left on device" in second.stderr


# -- helpers of the raw-client tests -----------------------------------------------------------
def framed(value: object) -> bytes:
    body = msgpack.packb(value, use_bin_type=True)
    return struct.pack(">I", len(body)) + body


def rss(daemon: Daemon) -> int:
    return int(psutil.Process(daemon.proc.pid).memory_info().rss)


async def answers(daemon: Daemon) -> bool:
    async with daemon.client() as fresh:
        welcome = await asyncio.wait_for(fresh.hello(), 10)
    return isinstance(welcome, sb.Welcome)


# -- finding 5: a client that does not read is disconnected, and memory stays bounded ----------
HELLOS = 300_000  # the adversarial run's count: 108 MB -> 1,045 MB before the bound
RSS_GROWTH_BOUND = 64 << 20  # the 8 MiB queue, frames in flight, allocator slack


async def test_a_client_sending_hellos_without_reading_is_disconnected(daemon: Daemon) -> None:
    baseline, peak = rss(daemon), 0
    _, writer = await asyncio.open_unix_connection(daemon.endpoint.removeprefix("unix://"))
    batch = b"".join(framed({"t": "hello", "v": 1, "id": f"h{i}"}) for i in range(1000))
    sent = 0
    try:
        async with asyncio.timeout(60):
            while sent < HELLOS:
                writer.write(batch)
                await writer.drain()
                sent += 1000
                peak = max(peak, rss(daemon))
    except (ConnectionError, TimeoutError):
        pass
    writer.close()
    peak = max(peak, rss(daemon))
    assert sent < HELLOS, f"sandboxd read all {sent} hellos and still holds the connection"
    assert peak - baseline < RSS_GROWTH_BOUND, (baseline, peak)
    assert "its send queue is full" in daemon.output()
    assert await answers(daemon), "sandboxd stopped answering other clients"


async def test_a_client_not_reading_a_chatty_exec_is_disconnected_and_the_run_killed(
    daemon: Daemon,
) -> None:
    who, marker = tenant(), f"chatty-{secrets.token_hex(4)}"
    async with daemon.client() as setup:
        await setup.create_workspace(who, "ws")
    baseline = rss(daemon)
    reader, writer = await asyncio.open_unix_connection(daemon.endpoint.removeprefix("unix://"))
    chatty = ["sh", "-c", f"while :; do echo {marker} {'x' * 200}; done"]
    exec_frame = sb.Exec(
        id="e1", tenant=who, workspace="ws", argv=chatty, limits=sb.Limits(timeout_s=120)
    )
    writer.write(framed(exec_frame.model_dump(mode="python")))
    await writer.drain()

    def running() -> bool:
        return any(
            marker in " ".join(p.info["cmdline"] or []) for p in psutil.process_iter(["cmdline"])
        )

    async def started() -> bool:
        return running()

    async def killed() -> bool:
        return not running()

    await eventually(started, 30, "the chatty exec to start")
    # Not reading: after STALL_S sandboxd gives up on this client and kills its run.
    await eventually(killed, 30, "the chatty exec to be killed")
    assert rss(daemon) - baseline < RSS_GROWTH_BOUND
    assert f"it took nothing for {STALL_S}s" in daemon.output()
    # What was sent before the disconnect is there to read, then the end of the stream.
    async with asyncio.timeout(30):
        while await reader.read(1 << 16):
            pass
    writer.close()
    assert await answers(daemon)
