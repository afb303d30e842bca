"""The bubblewrap backend's mechanics on this host: exit status, streaming, stdin, cwd/env,
timeout, cgroup limits and OOM, cleanup on cancellation. (Escape attempts: test_isolation.py.)"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bdg_contracts.sandbox import Limits
from bdg_sandboxd.backend import RunResult, RunSpec, Stream
from bdg_sandboxd.backends import bwrap
from bdg_sandboxd.backends.bwrap import BwrapBackend
from bdg_sandboxd.limits import cgroups_writable

pytestmark = [
    pytest.mark.timeout(30),
    pytest.mark.skipif(not BwrapBackend.available().ok, reason="bwrap cannot run here"),
]
needs_cgroups = pytest.mark.skipif(not cgroups_writable(), reason="no writable cgroups")


class Output:
    """A sink that keeps chunks in arrival order and signals when some text has arrived."""

    def __init__(self, wait_for: bytes = b"") -> None:
        self.chunks: list[tuple[Stream, bytes]] = []
        self.wait_for = wait_for
        self.seen = asyncio.Event()

    async def __call__(self, stream: Stream, data: bytes) -> None:
        self.chunks.append((stream, data))
        if self.wait_for and self.wait_for in self.text("stdout"):
            self.seen.set()

    def text(self, stream: Stream) -> bytes:
        return b"".join(d for s, d in self.chunks if s == stream)


@pytest.fixture
def workspace() -> Iterator[Path]:
    # Not pytest's tmp_path: its parents are 0700, and the sandbox (uid 65534) must reach it.
    path = Path(tempfile.mkdtemp(prefix="bdg-bwrap-ws-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def cgroup_dirs(run_id: str) -> list[Path]:
    return [p for p in Path("/sys/fs/cgroup").glob(f"*/bdg-{run_id}") if p.exists()]


async def run(
    workspace: Path, argv: list[str], sink: Output | None = None, **kwargs: object
) -> tuple[RunResult, Output]:
    sink = sink or Output()
    spec = RunSpec(f"t-{secrets.token_hex(6)}", argv, workspace, **kwargs)  # type: ignore[arg-type]
    result = await BwrapBackend().run(spec, sink)
    assert cgroup_dirs(spec.run_id) == []
    return result, sink


async def test_exit_codes(workspace: Path) -> None:
    assert (await run(workspace, ["true"]))[0].code == 0
    assert (await run(workspace, ["false"]))[0].code == 1
    result, out = await run(workspace, ["echo", "hello"])
    assert (result.code, result.signal, result.timed_out, result.oom) == (0, None, False, False)
    assert out.text("stdout") == b"hello\n"
    assert (await run(workspace, ["sh", "-c", "exit 42"]))[0].code == 42
    missing = await run(workspace, ["no-such-program"])
    assert missing[0].code == 1
    assert b"no-such-program" in missing[1].text("stderr")


async def test_death_by_signal(workspace: Path) -> None:
    result, _ = await run(workspace, ["sh", "-c", "kill -TERM $$"])
    assert (result.code, result.signal) == (None, 15)


async def test_output_streams_in_order_while_running(workspace: Path) -> None:
    os.mkfifo(workspace / "go")
    os.chown(workspace / "go", 65534, 65534)
    sink = Output(wait_for=b"ready")
    script = "for i in 1 2 3; do echo $i; done; echo oops >&2; echo ready; read x < go; echo $x"
    task = asyncio.create_task(run(workspace, ["sh", "-c", script], sink))
    await asyncio.wait_for(sink.seen.wait(), 10)  # printed while the command still runs
    assert not task.done()
    await asyncio.to_thread((workspace / "go").write_text, "done\n")  # lets the command end
    result, out = await task
    assert result.code == 0
    assert out.text("stdout") == b"1\n2\n3\nready\ndone\n"
    assert out.text("stderr") == b"oops\n"


async def test_cwd_env_and_nothing_of_ours(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BDG_SECRET_OF_THE_DAEMON", "x")
    (workspace / "sub").mkdir()
    result, out = await run(
        workspace, ["sh", "-c", "pwd; echo $FOO; env"], cwd="/workspace/sub", env={"FOO": "bar"}
    )
    assert result.code == 0
    lines = out.text("stdout").decode().splitlines()
    assert lines[:2] == ["/workspace/sub", "bar"]
    assert not any(line.startswith("BDG_SECRET") for line in lines)


async def test_stdin_larger_than_a_pipe(workspace: Path) -> None:
    data = secrets.token_bytes(3 << 20)  # written while the output is read: no deadlock
    result, out = await run(workspace, ["cat"], stdin=data)
    assert result.code == 0
    assert out.text("stdout") == data


async def test_identity_and_filesystem(workspace: Path) -> None:
    script = (
        "id -u; id -g; grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status; "
        "echo x > /workspace/made && echo ws-ok; echo x > /tmp/t && echo tmp-ok; "
        "for p in /x /usr/x /etc/x; do echo x > $p 2>/dev/null || echo ro $p; done"
    )
    result, out = await run(workspace, ["sh", "-c", script])
    assert result.code == 0
    lines = out.text("stdout").decode().split("\n")
    assert lines[:2] == ["65534", "65534"]
    assert [line.split() for line in lines[2:5]] == [
        ["CapEff:", "0000000000000000"],
        ["NoNewPrivs:", "1"],
        ["Seccomp:", "2"],
    ]
    assert lines[5:10] == ["ws-ok", "tmp-ok", "ro /x", "ro /usr/x", "ro /etc/x"]
    assert (workspace / "made").stat().st_uid == (65534 if os.geteuid() == 0 else os.getuid())


async def test_no_network_but_loopback(workspace: Path) -> None:
    script = (
        "import socket\n"
        "print(sorted(l.split(':')[0].strip() for l in open('/proc/net/dev').readlines()[2:]))\n"
        "try:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
        "except OSError as e:\n    print(e.errno)\n"
    )
    result, out = await run(workspace, ["python3", "-c", script])
    assert result.code == 0
    assert out.text("stdout").decode().split("\n")[:2] == ["['lo']", "101"]  # ENETUNREACH


async def test_tmp_is_size_limited(workspace: Path) -> None:
    result, out = await run(
        workspace, ["sh", "-c", "head -c 3000000 /dev/zero > /tmp/f"], limits=Limits(tmp_mb=2)
    )
    assert result.code != 0
    assert b"No space left" in out.text("stderr")


@pytest.fixture
def tiny_rootfs() -> Iterator[Path]:
    """dash and the libraries it loads, nothing else."""
    rootfs = Path(tempfile.mkdtemp(prefix="bdg-rootfs-"))
    for binary in ("/bin/dash", *libraries("/bin/dash")):
        target = rootfs / binary.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(Path(binary).resolve(), target)
    rootfs.chmod(0o755)
    yield rootfs
    shutil.rmtree(rootfs)


async def test_own_rootfs_read_only(workspace: Path, tiny_rootfs: Path) -> None:
    script = "[ -e /etc/passwd ] || echo no-host-etc; echo x > /x 2>/dev/null || echo ro; pwd"
    result, out = await run(workspace, ["/bin/dash", "-c", script], rootfs=tiny_rootfs)
    assert result.code == 0
    assert out.text("stdout") == b"no-host-etc\nro\n/workspace\n"


def libraries(binary: str) -> list[str]:
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    return [w for line in ldd.splitlines() for w in line.split() if w.startswith("/")]


async def test_wall_clock_timeout(workspace: Path) -> None:
    result, _ = await run(
        workspace, ["sh", "-c", "sleep 1000 & while :; do :; done"], limits=Limits(timeout_s=1)
    )
    assert result.timed_out
    assert (result.code, result.signal) == (None, 9)
    assert 1 <= result.duration_s < 10


@needs_cgroups
async def test_limits_written_to_the_cgroup(workspace: Path) -> None:
    os.mkfifo(workspace / "go")
    os.chown(workspace / "go", 65534, 65534)
    sink = Output(wait_for=b"ready")
    limits = Limits(memory_mb=100, pids=20, cpus=0.5)
    spec = RunSpec(
        f"t-{secrets.token_hex(6)}",
        ["sh", "-c", "echo ready; read x < go"],
        workspace,
        limits=limits,
    )
    task = asyncio.create_task(BwrapBackend().run(spec, sink))
    await asyncio.wait_for(sink.seen.wait(), 10)
    base = Path("/sys/fs/cgroup")
    group = f"bdg-{spec.run_id}"
    assert (base / "memory" / group / "memory.limit_in_bytes").read_text() == f"{100 << 20}\n"
    assert (base / "pids" / group / "pids.max").read_text() == "20\n"
    assert (base / "cpu" / group / "cpu.cfs_quota_us").read_text() == "50000\n"
    assert len((base / "pids" / group / "cgroup.procs").read_text().split()) >= 3
    await asyncio.to_thread((workspace / "go").write_text, "\n")
    assert (await task).code == 0
    assert cgroup_dirs(spec.run_id) == []


@needs_cgroups
async def test_memory_limit_ends_in_oom(workspace: Path) -> None:
    hog = "b = b'x' * (300 << 20); print(len(b))"
    result, out = await run(workspace, ["python3", "-c", hog], limits=Limits(memory_mb=64))
    assert result.oom
    assert result.signal == 9
    assert out.text("stdout") == b""


@needs_cgroups
async def test_pids_limit_holds(workspace: Path) -> None:
    forker = (
        "import os\nn = 0\nr, w = os.pipe()\n"
        "try:\n    while n < 100:\n        if os.fork() == 0:\n            os.read(r, 1)\n"
        "            os._exit(0)\n        n += 1\n"
        "except OSError as e:\n    print(n, e.errno)\n"
    )
    result, out = await run(workspace, ["python3", "-c", forker], limits=Limits(pids=16))
    assert result.code == 0
    forked, err = out.text("stdout").split()
    assert int(forked) < 16
    assert int(err) == 11  # EAGAIN


async def test_rlimits_when_cgroups_are_not_there(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bwrap, "cgroups_writable", lambda: False)
    hog = "b = b'x' * (300 << 20)"
    result, out = await run(workspace, ["python3", "-c", hog], limits=Limits(memory_mb=64))
    assert (result.code, result.oom) == (1, False)
    assert b"MemoryError" in out.text("stderr")
    assert "--as=67108864" in bwrap.launch_argv(
        RunSpec("x", ["true"], workspace, limits=Limits(memory_mb=64)), (), None, None
    )


@needs_cgroups
async def test_cancellation_leaves_nothing_behind(workspace: Path) -> None:
    sink = Output(wait_for=b"ready")
    spec = RunSpec(
        f"t-{secrets.token_hex(6)}",
        ["sh", "-c", "sleep 1000 & echo ready; while :; do :; done"],
        workspace,
    )
    task = asyncio.create_task(BwrapBackend().run(spec, sink))
    await asyncio.wait_for(sink.seen.wait(), 10)
    pids = sandbox_pids(spec.run_id)
    assert len(pids) >= 4  # bwrap, the sandbox's pid 1, sh, sleep
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cgroup_dirs(spec.run_id) == []
    assert alive(pids) == []


async def test_a_failing_sink_kills_the_run(workspace: Path) -> None:
    async def broken(stream: Stream, data: bytes) -> None:
        raise ConnectionResetError("client went away")

    spec = RunSpec(f"t-{secrets.token_hex(6)}", ["sh", "-c", "echo hi; sleep 1000"], workspace)
    with pytest.raises(ConnectionResetError):
        await BwrapBackend().run(spec, broken)
    assert cgroup_dirs(spec.run_id) == []


def sandbox_pids(run_id: str) -> list[int]:
    """Every process of the run (bwrap, the sandbox's pid 1, the command and its children)."""
    procs = Path(f"/sys/fs/cgroup/pids/bdg-{run_id}/cgroup.procs")
    return [int(p) for p in procs.read_text().split()] if procs.exists() else []


def alive(pids: list[int]) -> list[int]:
    """Those still in the process table (zombies included)."""
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]
