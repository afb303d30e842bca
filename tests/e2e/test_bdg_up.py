"""`bdg up` as a real process tree, and the supervisor's restart / SIGKILL rules in-process."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from rich.console import Console

from bdg_cli.procs import Supervisor
from bdg_runtime.embedded import start_embedded

SERVICE = """
import os, signal, sys
if "--stubborn" in sys.argv:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
name = os.environ["BDG_SERVICE_NAME"]
print(f"hello pid={os.getpid()} db={os.environ['DATABASE_URL']} nats={os.environ['NATS_URL']}")
print(f"{name} says [bold]hi[/bold] on stderr", file=sys.stderr)
signal.pause()
"""
DRIVER = """
import json, sys
from pathlib import Path
from bdg_cli.up import up
sys.exit(up(Path(sys.argv[1]), [], commands=json.loads(sys.argv[2])))
"""


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Outside pytest's 0700 tmp root: as root, pgserver's own user must traverse to PGDATA.
    path = Path(tempfile.mkdtemp(prefix="bdg-up-test-"))
    (path / "service.py").write_text(SERVICE)
    yield path
    stop_leftovers(path / "home")
    shutil.rmtree(path, ignore_errors=True)


def stop_leftovers(home: Path) -> None:
    # A failed test must not leave servers behind: take the stack over, then stop it.
    state = home / "stack.json"
    nats_up = state.exists() and not gone(json.loads(state.read_text())["nats_pid"])
    if nats_up or (home / "pg" / "postmaster.pid").exists():
        start_embedded(home).stop()


async def up_process(home: Path, commands: dict[str, list[str]]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        DRIVER,
        str(home),
        json.dumps(commands),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def kill_if_running(proc: asyncio.subprocess.Process) -> None:
    # Its services follow through PR_SET_PDEATHSIG; the fixture stops the stack.
    if proc.returncode is None:
        proc.kill()
        await proc.wait()


def gone(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


@pytest.mark.slow
@pytest.mark.timeout(90)
async def test_up_prefixes_service_output_and_stops_everything_on_sigint(workdir: Path) -> None:
    home, service = workdir / "home", [sys.executable, str(workdir / "service.py")]
    proc = await up_process(home, {"alpha": service, "beta": service})
    try:
        assert proc.stdout is not None
        pids: dict[str, int] = {}
        seen: list[str] = []
        # Printed verbatim: a service's own brackets must not be read as rich markup.
        stderr_lines = {f"[{n}] {n} says [bold]hi[/bold] on stderr" for n in ("alpha", "beta")}
        async with asyncio.timeout(60):
            while len(pids) < 2 or not stderr_lines <= set(seen):
                line = await proc.stdout.readline()
                assert line, "`bdg up` ended early:\n" + "\n".join(seen)
                seen.append(line.decode().rstrip("\n"))
                hello = r"\[(\w+)\] hello pid=(\d+) db=postgresql://\S+ nats=nats://\S+"
                if match := re.fullmatch(hello, seen[-1]):
                    pids[match[1]] = int(match[2])
        assert set(pids) == {"alpha", "beta"}
        nats_pid = json.loads((home / "stack.json").read_text())["nats_pid"]

        proc.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, "\n".join(seen) + rest.decode()
        assert all(gone(pid) for pid in pids.values())
        assert gone(nats_pid)
        assert not (home / "pg" / "postmaster.pid").exists()
    finally:
        await kill_if_running(proc)


@pytest.mark.slow
@pytest.mark.timeout(90)
async def test_services_die_with_a_killed_up_and_the_next_start_reuses_the_stack(
    workdir: Path,
) -> None:
    home = workdir / "home"
    proc = await up_process(home, {"alpha": [sys.executable, str(workdir / "service.py")]})
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(60):
            match = None
            while match is None:
                match = re.match(rb"\[alpha\] hello pid=(\d+)", await proc.stdout.readline())
    finally:
        await kill_if_running(proc)  # no cleanup at all: the service must go by itself
    try:
        child = psutil.Process(int(match[1]))
    except psutil.NoSuchProcess:
        child = None  # it already went with its parent: what the test wants
    if child is not None:
        await asyncio.wait_for(asyncio.to_thread(child.wait, 10), 15)
    nats_pid = json.loads((home / "stack.json").read_text())["nats_pid"]
    assert not gone(nats_pid)  # the stack outlives a killed `bdg up`

    stack = start_embedded(home)  # reuses the orphaned servers, then owns and stops them
    assert stack.nats_pid == nats_pid
    stack.stop()
    assert gone(nats_pid)
    assert not (home / "pg" / "postmaster.pid").exists()


@pytest.mark.timeout(30)
def test_up_rejects_unknown_services(workdir: Path) -> None:
    console = Console(file=io.StringIO())
    from bdg_cli.up import up

    assert up(workdir / "home", ["nope"], console=console) == 2
    assert "unknown services: nope" in console.file.getvalue()  # type: ignore[attr-defined]
    assert not (workdir / "home").exists()  # nothing started


class Capture(io.StringIO):
    """Console sink that wakes waiters on every write (no polling sleeps in tests)."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = asyncio.Event()

    def write(self, text: str) -> int:
        self.changed.set()
        return super().write(text)

    async def wait_for(self, pattern: str, timeout: float = 15.0) -> re.Match[str]:
        async with asyncio.timeout(timeout):
            while not (match := re.search(pattern, self.getvalue())):
                self.changed.clear()
                await self.changed.wait()
        return match


def supervisor(commands: dict[str, list[str]], capture: Capture, **rules: float) -> Supervisor:
    env = {**os.environ, "DATABASE_URL": "postgresql://unused", "NATS_URL": "nats://unused"}
    return Supervisor(commands, env, Console(file=capture, width=200), **rules)  # type: ignore[arg-type]


@pytest.mark.timeout(30)
async def test_a_crashing_service_is_restarted_with_backoff_then_given_up() -> None:
    capture = Capture()
    crash = [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"]
    sup = supervisor({"crashy": crash}, capture, max_restarts=2, restart_window=60)
    assert await sup.run() is False  # every service gave up: nothing left to supervise
    out = capture.getvalue()
    assert out.count("[crashy] boom") == 3
    assert "restarting in 0.5s" in out
    assert "restarting in 1.0s" in out
    assert "2 restarts within 60s, giving up" in out


@pytest.mark.timeout(30)
async def test_a_configuration_error_is_not_restarted() -> None:
    capture = Capture()
    misconfigured = [sys.executable, "-c", "import sys; print('no JWT key'); sys.exit(2)"]
    sup = supervisor({"gateway": misconfigured}, capture, max_restarts=5, restart_window=60)
    assert await sup.run() is False
    out = capture.getvalue()
    assert out.count("[gateway] no JWT key") == 1
    assert "configuration error (code 2): not restarting" in out


@pytest.mark.timeout(30)
async def test_a_service_ignoring_sigterm_is_killed_after_the_stop_timeout(workdir: Path) -> None:
    capture = Capture()
    stubborn = [sys.executable, str(workdir / "service.py"), "--stubborn"]
    sup = supervisor({"stubborn": stubborn}, capture, stop_timeout=0.5)
    running = asyncio.create_task(sup.run())
    pid = int((await capture.wait_for(r"\[stubborn\] hello pid=(\d+)"))[1])
    sup.request_stop()
    assert await asyncio.wait_for(running, 10) is True
    assert "SIGKILL" in capture.getvalue()
    assert gone(pid)
