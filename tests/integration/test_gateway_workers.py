"""Gateway workers (issue #11 finding 7): `bdg up` binds the gateway's socket once and runs
BDG_GATEWAY_WORKERS processes on it. Each worker accepts from that socket; one killed is
restarted alone while the others answer; a second `bdg up` on the port fails before it starts
anything. Nothing a request relies on lives in one worker: a login code is burnt for all of
them, a job stream at one worker shows what another wrote, tenants stay apart.

The gateways here are real (``python -m bdg_gateway.main`` under the Supervisor, on the test's
database and bus namespace); ``a`` and ``b`` each have a socket of their own, so the test knows
which one it talks to, and ``b`` runs two workers on its socket."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import json
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from rich.console import Console
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bdg_cli.gateway_listener import gateway_listener
from bdg_cli.procs import Listener, Supervisor
from bdg_cli.up import up
from bdg_runtime.login_codes import login_codes
from tests.conftest import Servers
from tests.gateway_stack import AUDIENCE, Keys, Stack, new_tenant
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(120)
# Accepts one connection, says its pid, then holds it: the next connection is another worker's.
HOLDER = """
import os, signal, socket
sock = socket.socket(fileno=int(os.environ["BDG_LISTEN_FD"]))
conn, _ = sock.accept()
conn.sendall(str(os.getpid()).encode())
signal.pause()
"""


async def pid_of_acceptor(port: int) -> tuple[int, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    return int(await asyncio.wait_for(reader.read(20), 20)), writer


def bound() -> Listener:
    return Listener(socket.create_server(("127.0.0.1", 0)), workers=2)


async def test_workers_share_the_socket_and_a_killed_one_is_restarted_alone() -> None:
    listener, said = bound(), io.StringIO()
    port = listener.sock.getsockname()[1]
    sup = Supervisor(
        {"web": [sys.executable, "-c", HOLDER]},
        dict(os.environ),
        Console(file=said, width=200),
        listeners={"web": listener},
    )
    running = asyncio.create_task(sup.run())
    writers = []
    try:
        first, w1 = await pid_of_acceptor(port)
        second, w2 = await pid_of_acceptor(port)
        writers += [w1, w2]
        assert first != second  # two processes accept from the one socket
        children = {p.pid for p in psutil.Process().children()}
        assert {first, second} <= children
        os.kill(first, signal.SIGKILL)
        third, w3 = await pid_of_acceptor(port)  # waits in the backlog meanwhile: not refused
        writers.append(w3)
        assert third not in (first, second)
        assert second in {p.pid for p in psutil.Process().children()}  # the other one lived on
        assert "exited unexpectedly" in said.getvalue()
        assert "[web/2] started" in said.getvalue()
    finally:
        for writer in writers:
            writer.close()
        sup.request_stop()
        await running
        listener.sock.close()


def test_a_second_bdg_up_on_the_gateway_port_stops_before_starting_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = gateway_listener("127.0.0.1", 0, 1)  # what the first `bdg up` holds
    port = taken.sock.getsockname()[1]
    monkeypatch.setenv("GATEWAY_HOST", "127.0.0.1")
    monkeypatch.setenv("GATEWAY_PORT", str(port))
    said, home = io.StringIO(), tmp_path / "home"
    home.mkdir()
    started = tmp_path / "started"
    command = [sys.executable, "-c", f"open({str(started)!r}, 'w')"]
    try:
        code = up(home, ["gateway"], commands={"gateway": command}, console=Console(file=said))
    finally:
        taken.sock.close()
    assert code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in said.getvalue()
    assert not started.exists()
    assert not any(home.iterdir())  # no embedded server, sandboxd or secret: nothing started


@dataclass
class Gateways:
    a: str  # one worker on a socket of its own
    b: str  # two workers sharing another
    supervisor: Supervisor
    said: io.StringIO


@pytest.fixture
async def gateways(
    stack: Stack, servers: Servers, namespace: str, keys: Keys, tmp_path: Path
) -> AsyncIterator[Gateways]:
    env = {
        **os.environ,
        "DATABASE_URL": stack.database_url,
        "NATS_URL": servers.nats_url,
        "BDG_NAMESPACE": namespace,
        "BDG_HOME": str(tmp_path),
        "JWT_ALGORITHM": "HS256",
        "JWT_SECRET": keys.secret,
        "JWT_AUDIENCE": AUDIENCE,
        "AGENT_SANDBOX_ENDPOINT": "unix:///nonexistent/sandbox.sock",
    }
    a, b = Listener(socket.create_server(("127.0.0.1", 0)), 1), bound()
    said = io.StringIO()
    gateway = [sys.executable, "-m", "bdg_gateway.main"]
    sup = Supervisor(
        {"gw-a": gateway, "gw-b": gateway},
        env,
        Console(file=said, width=300),
        listeners={"gw-a": a, "gw-b": b},
    )
    running = asyncio.create_task(sup.run())
    urls = [f"http://127.0.0.1:{lst.sock.getsockname()[1]}" for lst in (a, b)]
    try:
        async with httpx.AsyncClient() as http:
            for url in urls:
                await eventually(functools.partial(healthy, http, url), 60, f"{url} to answer")
        yield Gateways(urls[0], urls[1], sup, said)
    finally:
        sup.request_stop()
        await running
        a.sock.close()
        b.sock.close()


async def healthy(http: httpx.AsyncClient, url: str) -> bool:
    with contextlib.suppress(httpx.TransportError):
        return (await http.get(f"{url}/healthz")).status_code == 200
    return False


async def test_a_login_code_is_burnt_for_every_worker(gateways: Gateways, tmp_path: Path) -> None:
    code = login_codes(tmp_path).issue(new_tenant(), "carol", now=time.time(), ttl_seconds=60)
    async with httpx.AsyncClient() as http:
        at_a, at_b = await asyncio.gather(
            http.post(f"{gateways.a}/auth/login", json={"code": code}),
            http.post(f"{gateways.b}/auth/login", json={"code": code}),
        )
        assert sorted([at_a.status_code, at_b.status_code]) == [200, 401]
        token = (at_a if at_a.status_code == 200 else at_b).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        for url in (gateways.a, gateways.b):  # signed by one, taken by both
            assert (await http.get(f"{url}/jobs", headers=headers)).status_code == 200


async def test_a_stream_at_one_worker_shows_what_another_wrote(
    gateways: Gateways, keys: Keys
) -> None:
    tenant, other = new_tenant(), new_tenant()
    async with httpx.AsyncClient(headers=keys.headers(tenant)) as http:
        created = await http.post(f"{gateways.b}/jobs", json={"goal": "notes app"})
        assert created.status_code == 201, created.text
        job_id = created.json()["id"]
        elsewhere = await http.get(
            f"{gateways.a}/jobs/{job_id}", headers=keys.headers(other)
        )  # another tenant, another worker: still not found
        assert elsewhere.status_code == 404
        ws_url = gateways.a.replace("http", "ws", 1)
        url = f"{ws_url}/jobs/{job_id}/stream?from_version=0&token={keys.token(tenant)}"
        async with connect(url) as ws:
            first = json.loads(await asyncio.wait_for(ws.recv(), 20))
            assert first["version"] == 1
            cancelled = await http.post(f"{gateways.b}/jobs/{job_id}/cancel", json={})
            assert cancelled.status_code == 200, cancelled.text
            frames, code = await until_closed(ws)
    assert [f["name"] for f in frames if "name" in f][-1:] == ["JobCancelled"]
    assert code == 1000  # the job ended


async def until_closed(ws: ClientConnection) -> tuple[list[dict[str, Any]], int | None]:
    """The frames until the server closes the stream, and its close code."""
    frames: list[dict[str, Any]] = []
    try:
        while True:
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), 20)))
    except ConnectionClosed as closed:
        return frames, closed.rcvd.code if closed.rcvd is not None else None


async def test_a_killed_worker_is_restarted_and_no_create_is_lost_or_doubled(
    gateways: Gateways, keys: Keys
) -> None:
    tenant = new_tenant()
    workers = [p for p in psutil.Process().children() if "bdg_gateway.main" in p.cmdline()]
    assert len(workers) == 3  # a's one and b's two
    answered: list[str] = []

    async def create(http: httpx.AsyncClient, n: int) -> None:
        with contextlib.suppress(httpx.TransportError):  # the killed worker's: no answer
            created = await http.post(f"{gateways.b}/jobs", json={"goal": f"job {n}"})
            assert created.status_code == 201, created.text
            answered.append(created.json()["id"])

    async with httpx.AsyncClient(headers=keys.headers(tenant), timeout=30) as http:
        creating = [asyncio.create_task(create(http, n)) for n in range(40)]
        await asyncio.sleep(0)  # the creates are under way
        victim = next(p for p in psutil.Process().children() if p.pid == _b_worker(gateways))
        victim.kill()
        await asyncio.gather(*creating)
        await eventually(lambda: healthy(http, gateways.b), 30, "b answering after the kill")

        async def restarted() -> bool:
            return gateways.said.getvalue().count("exited unexpectedly with code -9") == 1

        await eventually(restarted, 30, "the supervisor to restart the killed worker")
        assert answered  # the surviving worker kept answering
        assert len(answered) == len(set(answered))
        for job_id in answered:  # every create answered 201 is kept, seen from another worker
            assert (await http.get(f"{gateways.a}/jobs/{job_id}")).status_code == 200


def _b_worker(gateways: Gateways) -> int:
    proc = gateways.supervisor.procs["gw-b"]
    return proc.pid
