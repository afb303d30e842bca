"""sandboxd as a process, through the client library: protocol, streaming, limits, cleanup."""

from __future__ import annotations

import asyncio
import os
import struct
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import msgpack
import psutil
import pytest

from bdg_contracts import sandbox as sb
from bdg_sandbox.client import SandboxClient, SandboxRequestError, SandboxUnavailableError
from bdg_sandbox.codec import encode, read_raw
from bdg_sandboxd import cgroups
from tests.sandbox.daemon import Daemon, start_daemon
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(120)
TENANT = "acme"


@pytest.fixture(params=["runc", "bwrap"])
async def daemon(request: pytest.FixtureRequest) -> AsyncIterator[Daemon]:
    daemon = await start_daemon(
        SANDBOX_BACKEND=request.param, SANDBOX_MAX_CONCURRENT="2", SANDBOX_MAX_QUEUED="4"
    )
    yield daemon
    code = daemon.stop()
    print(daemon.output())
    daemon.remove()
    assert code == 0


@pytest.fixture
async def client(daemon: Daemon) -> AsyncIterator[SandboxClient]:
    async with daemon.client() as client:
        await client.create_workspace(TENANT, "ws1")
        yield client


async def raw_exchange(daemon: Daemon, payload: bytes) -> object:
    reader, writer = await asyncio.open_unix_connection(daemon.endpoint.removeprefix("unix://"))
    writer.write(payload)
    await writer.drain()
    reply = await asyncio.wait_for(read_raw(reader), 10)
    writer.close()
    return reply


def framed(value: object) -> bytes:
    body = msgpack.packb(value, use_bin_type=True)
    return struct.pack(">I", len(body)) + body


async def test_hello_names_the_backend_and_its_protections(client: SandboxClient) -> None:
    welcome = await client.hello()
    assert welcome.backend in {"runc", "bwrap"}  # the fixture runs every test on both
    assert welcome.protections["no_network"] is True
    assert welcome.max_concurrent == 2


async def test_smoke_node_prints_42_streamed(client: SandboxClient) -> None:
    await client.write_file(TENANT, "ws1", "index.js", b"console.log('42')\n")
    seen: list[bytes] = []
    result = await client.exec(
        TENANT, "ws1", ["node", "index.js"], on_output=lambda s, d: seen.append(d)
    )
    assert result.ok, result
    assert result.stdout == b"42\n"
    assert b"".join(seen) == b"42\n"


async def test_output_streams_while_the_command_runs(client: SandboxClient) -> None:
    first_line = asyncio.Event()

    def on_output(stream: str, data: bytes) -> None:
        if b"first" in data:
            first_line.set()

    script = "echo first; read line; echo second"
    frame = sb.Exec(
        id="stream-1", tenant=TENANT, workspace="ws1", argv=["sh", "-c", script], stdin=b"go\n"
    )
    replies = [r async for r in client.stream(frame)]
    kinds = [type(r).__name__ for r in replies]
    assert kinds[0] == "Started"
    assert kinds[-1] == "Exited"
    text = b"".join(r.data for r in replies if isinstance(r, sb.Output))
    assert text == b"first\nsecond\n"
    on_output("stdout", text)
    assert first_line.is_set()


async def test_a_hundred_megabytes_are_truncated_and_the_daemon_stays_small(
    daemon: Daemon, client: SandboxClient
) -> None:
    rss_before = psutil.Process(daemon.proc.pid).memory_info().rss
    result = await client.exec(
        TENANT,
        "ws1",
        ["sh", "-c", "head -c 100000000 /dev/zero"],
        limits=sb.Limits(output_bytes=1 << 20),
        keep_output=2 << 20,
    )
    assert result.exited.code == 0
    assert result.exited.output_truncated is True
    assert len(result.stdout) == 1 << 20
    grown = psutil.Process(daemon.proc.pid).memory_info().rss - rss_before
    assert grown < 50 << 20, f"sandboxd grew by {grown >> 20} MiB"


async def test_execs_beyond_the_cap_are_queued(client: SandboxClient) -> None:
    gate = "read line"  # each exec waits for its stdin to close: all stay in flight together
    results = await asyncio.gather(
        *(
            client.exec(TENANT, "ws1", ["sh", "-c", f"{gate}; echo {n}"], stdin=b"x\n")
            for n in range(4)
        )
    )
    assert sorted(r.stdout for r in results) == [b"0\n", b"1\n", b"2\n", b"3\n"]
    assert any(r.queued_at is not None for r in results)


async def test_malformed_oversized_and_unknown_frames_get_error_frames(
    daemon: Daemon, client: SandboxClient
) -> None:
    not_msgpack = struct.pack(">I", 3) + b"\xc1\xc1\xc1"
    bad = [
        (not_msgpack, "bad_frame"),
        (framed([1, 2, 3]), "bad_frame"),
        (framed({"v": 1, "t": "launch_missiles", "id": "x"}), "unknown_type"),
        (framed({"v": 9, "t": "hello", "id": "x"}), "bad_version"),
        (
            framed({"v": 1, "t": "exec", "id": "x", "argv": [], "workspace": "w", "tenant": "t"}),
            "invalid",
        ),
        (struct.pack(">I", 2 << 20) + b"\0" * (2 << 20), "too_large"),
    ]
    for payload, code in bad:
        reply = await raw_exchange(daemon, payload)
        assert isinstance(reply, dict), reply
        assert (reply["t"], reply["code"]) == ("error", code), reply
    # The daemon keeps serving everyone, on the same connection too.
    assert (await client.exec(TENANT, "ws1", ["true"])).ok


async def test_a_bad_frame_does_not_end_the_connection(daemon: Daemon) -> None:
    reader, writer = await asyncio.open_unix_connection(daemon.endpoint.removeprefix("unix://"))
    writer.write(framed({"v": 1, "t": "nope", "id": "a"}) + encode(sb.Hello(id="b")))
    await writer.drain()
    first = await asyncio.wait_for(read_raw(reader), 10)
    second = await asyncio.wait_for(read_raw(reader), 10)
    writer.close()
    assert first["code"] == "unknown_type"
    assert second["t"] == "welcome"


async def test_errors_of_requests_name_the_problem(client: SandboxClient) -> None:
    with pytest.raises(SandboxRequestError, match="not_found"):
        await client.exec(TENANT, "no-such-workspace", ["true"])
    with pytest.raises(SandboxRequestError, match="invalid"):
        await client.read_file(TENANT, "ws1", "../../etc/passwd")


def sandbox_processes(marker: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if any(marker in part for part in cmdline):
            found.append(proc)
    return found


def daemon_leftovers(daemon: Daemon) -> list[str]:
    """Containers, cgroups and mounts of the daemon's runs (their ids start bdg-<pid>-)."""
    prefix = f"bdg-{daemon.proc.pid}-"
    found = [
        f"runc container {c}"
        for c in subprocess.run(
            ["runc", "list", "-q"], capture_output=True, text=True
        ).stdout.split()
        if c.startswith(prefix)
    ]
    for tree in cgroups.hierarchies().trees():
        found += [f"cgroup {p}" for p in tree.rglob(f"{prefix}*")]
    mounts = Path("/proc/self/mountinfo").read_text()
    tenant_disks = str(daemon.state / "workspaces")  # a tenant's disk lives as long as sandboxd
    found += [
        f"mount {line}"
        for line in mounts.splitlines()
        if str(daemon.state) in line and str(Path(line.split()[4]).parent) != tenant_disks
    ]
    return found


async def test_a_client_disconnect_kills_its_run_and_leaves_nothing(daemon: Daemon) -> None:
    marker = f"bdg-disconnect-{os.getpid()}"
    client = daemon.client()
    await client.create_workspace(TENANT, "ws-gone")
    running = asyncio.create_task(
        client.exec(
            TENANT,
            "ws-gone",
            ["sh", "-c", f"echo started; exec sleep 300 # {marker}"],
            on_output=lambda s, d: None,
        )
    )

    async def started() -> bool:
        return bool(sandbox_processes(marker))

    await eventually(started, 30, "the command to run")
    await client.close()  # the client goes away mid-run
    with pytest.raises(SandboxUnavailableError):
        await running

    async def gone() -> bool:
        return not sandbox_processes(marker)

    await eventually(gone, 30, "the sandboxed process to be killed")

    async def cleaned_up() -> bool:  # runc delete follows the process's death
        return not daemon_leftovers(daemon)

    await eventually(cleaned_up, 30, f"no leftovers (still: {daemon_leftovers(daemon)})")
    async with daemon.client() as again:  # and the daemon still serves
        assert (await again.hello()).backend


async def test_cancelling_the_client_call_cancels_the_run(daemon: Daemon) -> None:
    marker = f"bdg-cancel-{os.getpid()}"
    async with daemon.client() as client:
        await client.create_workspace(TENANT, "ws-cancel")
        running = asyncio.create_task(
            client.exec(TENANT, "ws-cancel", ["sh", "-c", f"exec sleep 300 # {marker}"])
        )

        async def started() -> bool:
            return bool(sandbox_processes(marker))

        await eventually(started, 30, "the command to run")
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running

        async def gone() -> bool:
            return not sandbox_processes(marker)

        await eventually(gone, 30, "the cancelled process to be killed")
        assert (await client.exec(TENANT, "ws-cancel", ["true"])).ok


async def test_a_workspace_round_trip(client: SandboxClient) -> None:
    await client.write_file(TENANT, "ws1", "src/a.txt", b"hello")
    assert await client.read_file(TENANT, "ws1", "src/a.txt") == b"hello"
    result = await client.exec(TENANT, "ws1", ["sh", "-c", "cat src/a.txt; echo x > b.txt"])
    assert result.stdout == b"hello"
    assert await client.read_file(TENANT, "ws1", "b.txt") == b"x\n"
    paths = {e.path for e in await client.list_files(TENANT, "ws1")}
    assert {"src/a.txt", "b.txt"} <= paths
    await client.delete_file(TENANT, "ws1", "b.txt")
    with pytest.raises(SandboxRequestError, match="not_found"):
        await client.read_file(TENANT, "ws1", "b.txt")


async def test_python_runs_a_module_rewritten_with_the_same_size_and_mtime_anew(
    client: SandboxClient,
) -> None:
    """A workspace rewritten within a second (a coder's resample) looked unchanged to Python's
    bytecode cache (mtime in whole seconds, size): the tests ran the old code. No cache is
    written in the sandbox."""
    same_time = "touch -d '2020-01-01 00:00:00' m.py"
    script = (
        f"echo 'X = 2 * 3' > m.py && {same_time} && python3 -c 'import m' && "
        f"echo 'X = 2 + 3' > m.py && {same_time} && python3 -c 'import m; print(m.X)'"
    )
    result = await client.exec(TENANT, "ws1", ["sh", "-c", script])
    assert (result.ok, result.stdout) == (True, b"5\n")
    assert not [e.path for e in await client.list_files(TENANT, "ws1") if ".pyc" in e.path]


async def test_a_tree_an_exec_made_is_copied_into_another_workspace_and_runs_there(
    client: SandboxClient,
) -> None:
    made = "mkdir -p venv/bin && printf '#!/bin/sh\\necho from-copy\\n' > venv/bin/tool"
    made += " && chmod 755 venv/bin/tool && ln -s tool venv/bin/alias"
    assert (await client.exec(TENANT, "ws1", ["sh", "-c", made])).ok
    await client.create_workspace(TENANT, "ws-copy")
    await client.copy_path(TENANT, "ws-copy", "ws1", "venv")
    result = await client.exec(TENANT, "ws-copy", ["sh", "-c", "venv/bin/alias; touch venv/new"])
    assert (result.ok, result.stdout) == (True, b"from-copy\n")  # the sandbox user may write it
    assert "venv/new" not in {e.path for e in await client.list_files(TENANT, "ws1")}
    with pytest.raises(SandboxRequestError, match="conflict"):
        await client.copy_path(TENANT, "ws-copy", "ws1", "venv")
    with pytest.raises(SandboxRequestError, match="not_found"):
        await client.copy_path(TENANT, "ws-copy", "ws1", "nothing")


async def test_a_reply_over_the_frame_limit_is_an_error_not_a_lost_connection(
    client: SandboxClient,
) -> None:
    await client.exec(TENANT, "ws1", ["sh", "-c", "head -c 3000000 /dev/zero > big.bin"])
    with pytest.raises(SandboxRequestError, match="too_large"):
        await client.read_file(TENANT, "ws1", "big.bin")
    assert (await client.exec(TENANT, "ws1", ["true"])).ok  # same connection, still serving


@pytest.mark.timeout(180)
async def test_npm_install_works_with_the_registry_policy_and_nothing_else_is_reachable(
    client: SandboxClient,
) -> None:
    await client.write_file(TENANT, "ws1", "package.json", b'{"name": "x", "version": "1.0.0"}')
    install = await client.exec(
        TENANT,
        "ws1",
        ["npm", "install", "--no-audit", "--no-fund", "is-number@7.0.0"],
        network="registry",
        limits=sb.Limits(timeout_s=150),
    )
    assert install.ok, install.stderr.decode()
    assert b"is-number" in await client.read_file(TENANT, "ws1", "package.json")
    run = await client.exec(TENANT, "ws1", ["node", "-e", "console.log(require('is-number')(5))"])
    assert run.stdout == b"true\n"
    other = "import urllib.request; urllib.request.urlopen('https://example.com', timeout=10)"
    refused = await client.exec(TENANT, "ws1", ["python3", "-c", other], network="registry")
    assert refused.exited.code != 0
    assert b"403" in refused.stderr or b"Forbidden" in refused.stderr, refused.stderr
    direct = (
        "import urllib.request; urllib.request.urlopen('https://registry.npmjs.org', timeout=5)"
    )
    offline = await client.exec(TENANT, "ws1", ["python3", "-c", direct])
    assert offline.exited.code != 0  # network "none": not even the registry
    assert not offline.exited.timed_out
