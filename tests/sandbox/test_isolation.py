"""Abuse and escape attempts through every sandbox backend (issue 3): each asserts its outcome
inside the sandbox AND that the host is unaffected, and every run is checked for leftovers.

The programs run inside are small Python scripts that print one JSON object.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import shutil
import socket
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import psutil
import pytest

from bdg_sandboxd.backend import Backend, Stream
from tests.sandbox.conftest import (
    Collected,
    assert_no_leftovers,
    new_run_id,
    run,
    spec,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


def py(code: str, *args: str) -> list[str]:
    return ["python3", "-c", textwrap.dedent(code), *args]


def report(out: Collected) -> Any:
    lines = out.text().strip().splitlines()
    assert lines, f"no output; stderr: {out.stderr.decode(errors='replace')}"
    return json.loads(lines[-1])


def on_host(path: str) -> bool:
    return os.path.lexists(path)


def host_can_fork() -> bool:
    return subprocess.run(["true"], check=False, timeout=10).returncode == 0


@pytest.mark.timeout(60)
async def test_node_index_js_prints_42_through_the_sink(backend: Backend, workspace: Path) -> None:
    assert shutil.which("node") is not None
    (workspace / "index.js").write_text("console.log('42')\n")
    result, out = await run(backend, spec(workspace, ["node", "index.js"]))
    assert (result.code, result.signal, result.timed_out) == (0, None, False), out.stderr
    assert out.stdout == b"42\n"
    assert out.chunks >= 1


@pytest.mark.timeout(60)
async def test_exit_status_signal_and_stdin(backend: Backend, workspace: Path) -> None:
    result, out = await run(backend, spec(workspace, ["cat"], stdin=b"fed on stdin"))
    assert (result.code, out.stdout) == (0, b"fed on stdin")
    result, _ = await run(backend, spec(workspace, ["sh", "-c", "exit 3"]))
    assert (result.code, result.signal) == (3, None)
    # Killed by a signal (as pid 1 without an init, a program would ignore its own SIGTERM).
    killed = ["sh", "-c", 'sh -c "kill -TERM \\$\\$"']
    result, _ = await run(backend, spec(workspace, killed))
    assert (result.code, result.signal) == (None, 15)


@pytest.mark.timeout(60)
async def test_fork_bomb_stops_at_the_pids_limit(backend: Backend, workspace: Path) -> None:
    """The bomb forks until refused, then holds all its processes until the host has forked
    (it waits on a FIFO in the workspace the host writes to)."""
    os.mkfifo(workspace / "release")
    os.chown(workspace / "release", 65534, 65534)
    bomb = py("""
        import json, os, signal
        forks = 0
        try:
            while True:
                if os.fork() == 0:
                    signal.pause()  # the end of the sandbox ends it
                    os._exit(0)
                forks += 1
        except BlockingIOError as error:
            refused = error.errno
        print(json.dumps({"forks": forks, "errno": refused}), flush=True)
        open("/workspace/release").read()
    """)
    host_forked: list[bool] = []

    class Release(Collected):
        async def __call__(self, stream: Stream, data: bytes) -> None:
            await super().__call__(stream, data)
            if stream == "stdout" and not host_forked:
                host_forked.append(host_can_fork())  # while the sandbox is full
                await asyncio.to_thread(_release, workspace / "release")

    result, out = await run(backend, spec(workspace, bomb, pids=32), Release())
    assert host_forked == [True]
    assert (result.code, result.timed_out) == (0, False), out.stderr
    outcome = report(out)
    assert outcome["errno"] == 11  # EAGAIN
    assert 0 < outcome["forks"] < 32
    assert host_can_fork()


def _release(fifo: Path) -> None:
    with open(fifo, "w") as writer:  # waits for the bomb to open its end
        writer.write("go")


@pytest.mark.timeout(60)
async def test_memory_bomb_is_killed_and_reported_as_oom(backend: Backend, workspace: Path) -> None:
    bomb = py("""
        hog = []
        while True:
            hog.append(b"x" * (8 << 20))
    """)
    result, out = await run(backend, spec(workspace, bomb, memory_mb=64))
    assert result.oom, (result, out.stderr)
    assert (result.code, result.signal, result.timed_out) == (None, 9, False)
    assert psutil.virtual_memory().available > 256 << 20


@pytest.mark.timeout(60)
async def test_filling_tmp_ends_in_enospc_inside(backend: Backend, workspace: Path) -> None:
    filler = py("""
        import errno, json
        mounts = [line.split() for line in open("/proc/self/mounts")]
        kind = [fields[2] for fields in mounts if fields[1] == "/tmp"][-1]
        written = 0
        try:
            with open("/tmp/fill", "wb") as f:
                while True:
                    f.write(b"x" * (1 << 20))
                    f.flush()
                    written += 1
        except OSError as error:
            print(json.dumps({"mb": written, "error": errno.errorcode[error.errno], "fs": kind}))
    """)
    result, out = await run(backend, spec(workspace, filler, tmp_mb=32, memory_mb=256))
    assert result.code == 0, out.stderr
    outcome = report(out)
    assert outcome["error"] == "ENOSPC"
    assert outcome["mb"] <= 32
    # Not the host's /tmp, nor any host disk: a tmpfs of its own. (The host's free space is no
    # witness: other tests write beside this one.)
    assert outcome["fs"] == "tmpfs"
    assert not on_host("/tmp/fill")


@pytest.mark.timeout(60)
async def test_no_network_egress(backend: Backend, workspace: Path) -> None:
    with socket.create_server(("0.0.0.0", 0)) as listener:
        listener.setblocking(False)
        port = listener.getsockname()[1]
        probe = py(
            """
            import json, socket, sys
            port = int(sys.argv[1])
            outcome = {"interfaces": [name for _, name in socket.if_nameindex()]}
            for name, address in [("internet", ("1.1.1.1", 80)), ("loopback", ("127.0.0.1", port)),
                                  ("host", (sys.argv[2], port))]:
                s = socket.socket()
                s.settimeout(5)
                try:
                    s.connect(address)
                    outcome[name] = "connected"
                except OSError as error:
                    outcome[name] = error.errno or str(error)
            print(json.dumps(outcome))
        """,
            str(port),
            _host_address(),
        )
        result, out = await run(backend, spec(workspace, probe))
        assert result.code == 0, out.stderr
        outcome = report(out)
        assert outcome["interfaces"] == ["lo"]
        assert all(outcome[k] != "connected" for k in ("internet", "loopback", "host")), outcome
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing reached the host's listener


def _host_address() -> str:
    """The host's address on its default route (its loopback when it has none)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


@pytest.mark.timeout(60)
async def test_host_secrets_and_homes_are_out_of_reach(backend: Backend, workspace: Path) -> None:
    probe = py("""
        import json, os
        outcome = {}
        for path in ["/etc/shadow", "/etc/gshadow"]:
            try:
                outcome[path] = open(path, "rb").read().decode(errors="replace")
            except OSError as error:
                outcome[path] = {"denied": error.errno}
        for path in ["/root", "/home", "/var"]:
            try:
                outcome[path] = os.listdir(path)
            except OSError as error:
                outcome[path] = {"denied": error.errno}
        print(json.dumps(outcome))
    """)
    result, out = await run(backend, spec(workspace, probe))
    assert result.code == 0, out.stderr
    outcome = report(out)
    for path in ("/etc/shadow", "/etc/gshadow"):  # denied, or hidden behind an empty file
        assert outcome[path] == "" or "denied" in outcome[path], (path, outcome[path])
    for path in ("/root", "/home", "/var"):
        assert outcome[path] == [] or "denied" in outcome[path], (path, outcome[path])


@pytest.mark.timeout(60)
async def test_cannot_write_outside_the_workspace(backend: Backend, workspace: Path) -> None:
    targets = ["/usr/x", "/etc/x", "/x", "/usr/lib/x", "/sys/x"]
    probe = py(
        """
        import json, sys
        outcome = {}
        for path in sys.argv[1:]:
            try:
                with open(path, "w") as f:
                    f.write("escaped")
                outcome[path] = "written"
            except OSError as error:
                outcome[path] = error.errno
        print(json.dumps(outcome))
    """,
        *targets,
        "/workspace/ok",
        "/tmp/ok",
    )
    result, out = await run(backend, spec(workspace, probe))
    assert result.code == 0, out.stderr
    outcome = report(out)
    assert (outcome["/workspace/ok"], outcome["/tmp/ok"]) == ("written", "written")
    assert all(outcome[t] != "written" for t in targets), outcome
    assert (workspace / "ok").read_text() == "escaped"
    assert not any(on_host(t) for t in targets)


@pytest.mark.timeout(60)
async def test_no_capabilities_and_setuid_gains_nothing(backend: Backend, workspace: Path) -> None:
    suid = workspace / "suid-python"  # a setuid-root interpreter, planted by the host
    shutil.copy2("/usr/bin/python3", suid)
    os.chown(suid, 0, 0)
    os.chmod(suid, 0o4755)
    probe = py("""
        import ctypes, json, os, subprocess
        lines = open("/proc/self/status").read().splitlines()
        status = dict(line.split(":\\t", 1) for line in lines if ":\\t" in line)
        outcome = {k: status[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapAmb",
                                                  "NoNewPrivs")}
        outcome["uid"] = os.getuid()
        run = lambda *argv: subprocess.run(argv, capture_output=True, text=True)
        outcome["suid_euid"] = run("/workspace/suid-python", "-c",
                                   "import os; print(os.geteuid())").stdout.strip()
        mount = run("mount", "-t", "tmpfs", "none", "/tmp")
        outcome["mount"] = [mount.returncode, mount.stderr]
        su = run("su", "-c", "id", "root")
        outcome["su"] = [su.returncode, su.stdout]
        libc = ctypes.CDLL(None, use_errno=True)
        outcome["userns"] = ctypes.get_errno() if libc.unshare(0x10000000) != 0 else "made"
        print(json.dumps(outcome))
    """)
    result, out = await run(backend, spec(workspace, probe))
    assert result.code == 0, out.stderr
    outcome = report(out)
    for cap in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
        assert int(outcome[cap], 16) == 0, outcome
    assert outcome["NoNewPrivs"] == "1"
    assert outcome["uid"] != 0
    assert outcome["suid_euid"] not in ("0", ""), outcome
    assert outcome["mount"][0] != 0
    assert outcome["su"][0] != 0
    assert "uid=0" not in outcome["su"][1]
    assert outcome["userns"] != "made"  # no way to capabilities through a user namespace


@pytest.mark.timeout(60)
async def test_ptrace_and_reading_other_processes_fail(backend: Backend, workspace: Path) -> None:
    probe = py("""
        import ctypes, json, os
        libc = ctypes.CDLL(None, use_errno=True)
        libc.ptrace.argtypes = [ctypes.c_long] * 4
        read_end, write_end = os.pipe()
        child = os.fork()
        if child == 0:
            os.read(read_end, 1)
            os._exit(0)
        outcome = {}
        for name, pid in [("child", child), ("init", 1)]:
            attached = libc.ptrace(16, pid, 0, 0)  # PTRACE_ATTACH
            outcome["ptrace_" + name] = ctypes.get_errno() if attached != 0 else "attached"
        buf = ctypes.create_string_buffer(8)
        local = (ctypes.c_void_p * 2)(ctypes.addressof(buf), 8)
        remote = (ctypes.c_void_p * 2)(0x400000, 8)
        n = libc.process_vm_readv(child, local, 1, remote, 1, 0)
        outcome["process_vm_readv"] = ctypes.get_errno() if n < 0 else "read"
        os.write(write_end, b"x")
        os.waitpid(child, 0)
        print(json.dumps(outcome))
    """)
    result, out = await run(backend, spec(workspace, probe))
    assert result.code == 0, out.stderr
    outcome = report(out)
    assert outcome == {"ptrace_child": 1, "ptrace_init": 1, "process_vm_readv": 1}  # EPERM


@pytest.mark.timeout(60)
async def test_host_processes_are_invisible(backend: Backend, workspace: Path) -> None:
    probe = py("""
        import json, os
        seen = {}
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    seen[name] = open(f"/proc/{name}/cmdline", "rb").read().decode(errors="replace")
                except OSError:
                    seen[name] = None
        mem = {}
        try:
            open(f"/proc/{os.environ['HOST_PID']}/mem", "rb").read(1)
            mem = "read"
        except OSError as error:
            mem = error.errno
        print(json.dumps({"pids": seen, "host_pid_mem": mem}))
    """)
    result, out = await run(backend, spec(workspace, probe, env={"HOST_PID": str(os.getpid())}))
    assert result.code == 0, out.stderr
    outcome = report(out)
    assert str(os.getpid()) not in outcome["pids"]
    assert len(outcome["pids"]) <= 4, outcome["pids"]  # an init, the probe (and maybe a shell)
    assert not any("pytest" in (c or "") for c in outcome["pids"].values())
    assert outcome["host_pid_mem"] == 2  # ENOENT


@pytest.mark.timeout(30)
async def test_infinite_loop_is_killed_at_the_timeout(backend: Backend, workspace: Path) -> None:
    result, _ = await run(backend, spec(workspace, py("while True: pass"), timeout_s=1))
    assert result.timed_out
    assert result.signal == 9
    assert 1.0 <= result.duration_s < 6.0


@pytest.mark.timeout(120)
async def test_100_mb_on_stdout_streams_with_bounded_memory(
    backend: Backend, workspace: Path
) -> None:
    me = psutil.Process()
    before = me.memory_info().rss
    peak = [before]

    class Counting(Collected):
        async def __call__(self, stream: Stream, data: bytes) -> None:
            await super().__call__(stream, data)
            if self.chunks % 64 == 0:
                peak.append(me.memory_info().rss)

    size = 100 << 20
    result, out = await run(
        backend, spec(workspace, ["head", "-c", str(size), "/dev/zero"]), Counting(keep=False)
    )
    assert result.code == 0
    assert out.counts["stdout"] == size
    assert out.chunks > 100  # streamed in pieces, not gathered
    assert max(peak) - before < 50 << 20
    assert me.memory_info().rss - before < 50 << 20


@pytest.mark.timeout(60)
async def test_cancellation_mid_run_leaves_nothing(backend: Backend, workspace: Path) -> None:
    marker = f"marker-{new_run_id()}"
    running = asyncio.Event()

    class Watch(Collected):
        async def __call__(self, stream: Stream, data: bytes) -> None:
            await super().__call__(stream, data)
            running.set()

    sleeper = py(
        """
        import signal, subprocess, sys
        subprocess.Popen(["sleep", "600", sys.argv[1]])
        print("running", flush=True)
        signal.pause()
    """,
        marker,
    )
    run_spec = spec(workspace, sleeper, timeout_s=600)
    task = asyncio.create_task(backend.run(run_spec, Watch()))
    await asyncio.wait_for(running.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert_no_leftovers(backend, run_spec.run_id, (marker, str(workspace)))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("after_s", [0.0, 0.002, 0.01, 0.03, 0.08])
async def test_cancellation_at_any_point_of_the_start(
    backend: Backend, workspace: Path, after_s: float
) -> None:
    """Cancelled while the bundle is written, while runc creates the container, or right after."""
    marker = f"marker-{new_run_id()}"
    run_spec = spec(workspace, ["sh", "-c", "sleep 600", marker], timeout_s=600)
    task = asyncio.create_task(backend.run(run_spec, Collected()))
    asyncio.get_running_loop().call_later(after_s, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert task.cancelled()
    assert_no_leftovers(backend, run_spec.run_id, (marker, str(workspace)))


@pytest.mark.timeout(60)
async def test_registry_policy_goes_only_through_the_proxy_socket(
    backend: Backend, workspace: Path
) -> None:
    """A stand-in for the allow-list proxy on a unix socket: the sandbox's HTTP_PROXY reaches
    it (and the request line shows what was asked), a direct connection still fails."""
    requests: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        requests.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nproxied!")
        await writer.drain()
        writer.close()

    sock = workspace.parent / f"bdg-proxy-{new_run_id()}.sock"
    server = await asyncio.start_unix_server(proxy, path=str(sock))
    sock.chmod(0o666)
    probe = py("""
        import json, os, socket, urllib.request
        outcome = {"proxy": os.environ.get("HTTP_PROXY")}
        reply = urllib.request.urlopen("http://registry.example/pkg", timeout=10)
        outcome["via_proxy"] = reply.read().decode()
        s = socket.socket()
        s.settimeout(5)
        try:
            s.connect(("1.1.1.1", 80))
            outcome["direct"] = "connected"
        except OSError as error:
            outcome["direct"] = error.errno
        print(json.dumps(outcome))
    """)
    run_spec = dataclasses.replace(spec(workspace, probe), network="registry", proxy_socket=sock)
    try:
        result, out = await run(backend, run_spec)
    finally:
        server.close()
        sock.unlink()
    assert result.code == 0, out.stderr
    outcome = report(out)
    assert outcome["proxy"] == "http://127.0.0.1:3128"
    assert outcome["via_proxy"] == "proxied!"
    assert outcome["direct"] != "connected"
    assert requests
    assert requests[0].startswith(b"GET http://registry.example/pkg")


@pytest.mark.timeout(60)
async def test_a_failing_sink_ends_the_run_and_leaves_nothing(
    backend: Backend, workspace: Path
) -> None:
    """The daemon's sink fails when its client has gone: the run is killed and cleaned up."""
    marker = f"marker-{new_run_id()}"

    class Gone(Collected):
        async def __call__(self, stream: Stream, data: bytes) -> None:
            raise ConnectionResetError("client gone")

    run_spec = spec(workspace, ["sh", "-c", "echo up; exec sleep 600", marker], timeout_s=600)
    with pytest.raises(ConnectionResetError):
        await backend.run(run_spec, Gone())
    assert_no_leftovers(backend, run_spec.run_id, (marker, str(workspace)))


@pytest.mark.timeout(60)
async def test_concurrent_runs_see_only_themselves(backend: Backend, workspace: Path) -> None:
    probe = py("""
        import json, os, sys
        open(f"/workspace/{sys.argv[1]}", "w").write(sys.argv[1])
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
        print(json.dumps({"me": sys.argv[1], "pids": len(pids), "files": os.listdir("/workspace")}))
    """)
    outcomes = await asyncio.gather(
        *(run(backend, spec(workspace, [*probe, f"run{i}"])) for i in range(4))
    )
    for i, (result, out) in enumerate(outcomes):
        assert result.code == 0, out.stderr
        outcome = report(out)
        assert outcome["me"] == f"run{i}"
        assert outcome["pids"] <= 3
    assert sorted(os.listdir(workspace)) == [f"run{i}" for i in range(4)]
