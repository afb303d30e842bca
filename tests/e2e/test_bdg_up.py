"""`bdg up` as a real process tree, and the supervisor's restart / SIGKILL rules in-process."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from rich.console import Console

from bdg_cli.procs import Supervisor
from bdg_cli.sandbox_daemon import Place, Started, is_sandboxd, launch, stop
from bdg_runtime.embedded import EmbeddedServer, start_embedded
from bdg_sandbox.client import SandboxClient, SandboxRequestError
from tests.waiting import wait_until

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
options = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {"sandbox": False}
sys.exit(up(Path(sys.argv[1]), [], commands=json.loads(sys.argv[2]), **options))
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
    s3 = home / "s3.json"  # `bdg up` starts SeaweedFS too: a killed one leaves it running
    if s3.exists() and not gone(json.loads(s3.read_text()).get("pid", 0)):
        start_embedded(home, postgres=False, nats=False, s3=True).stop()


async def up_process(
    home: Path,
    commands: dict[str, list[str]],
    options: dict[str, object] | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> asyncio.subprocess.Process:
    """`bdg up` with these services; no sandboxd unless ``options`` say otherwise."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        DRIVER,
        str(home),
        json.dumps(commands),
        json.dumps(options if options is not None else {"sandbox": False}),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        cwd=cwd,
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
async def test_services_and_then_the_stack_stop_after_a_killed_up(
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
    # Nobody uses the stack any more: the home's reaper stops it (bdg_runtime/embedded_reaper).
    postmaster = home / "pg" / "postmaster.pid"
    wait_until(lambda: gone(nats_pid) and not postmaster.exists(), 30, "the stack to stop")

    stack = start_embedded(home)  # the next start brings it up again on the same home
    again = stack.nats_pid
    assert again
    assert again != nats_pid
    stack.stop()
    assert gone(again)
    assert not postmaster.exists()


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


# -- sandboxd under `bdg up` ---------------------------------------------------------------------
def git_repo(path: Path, text: str) -> Path:
    path.mkdir(parents=True)
    (path / "hello.txt").write_text(text)
    git = ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "one"], check=True)
    return path


async def read_until(
    proc: asyncio.subprocess.Process, pattern: str, seen: list[str]
) -> re.Match[str]:
    assert proc.stdout is not None
    async with asyncio.timeout(90):
        while True:
            line = await proc.stdout.readline()
            assert line, "`bdg up` ended early:\n" + "\n".join(seen)
            seen.append(line.decode().rstrip("\n"))
            if match := re.search(pattern, seen[-1]):
                return match


async def workspace_text(endpoint: str, repo: Path, name: str, tenant: str = "local") -> str:
    async with SandboxClient(endpoint) as client:
        await client.create_workspace(tenant, name, repo=str(repo))
        return (await client.read_file(tenant, name, "hello.txt")).decode()


@pytest.fixture
def sandbox_env(workdir: Path) -> dict[str, str]:
    os.chmod(workdir, 0o755)  # the sandbox user must reach the workspaces under it
    env = {k: v for k, v in os.environ.items() if k not in ("SANDBOX_SOURCE_ROOTS",)}
    return {**env, "AGENT_SANDBOX_ENDPOINT": f"unix://{workdir}/s.sock"}


@pytest.mark.slow
@pytest.mark.timeout(150)
async def test_up_runs_sandboxd_over_the_current_dir_and_demo_repos_then_stops_it(
    workdir: Path, sandbox_env: dict[str, str]
) -> None:
    home, project = workdir / "home", workdir / "project"
    here = git_repo(project / "repo", "from the current directory")
    in_home = git_repo(home / "demo-repos" / "repo", "from BDG_HOME/demo-repos")
    in_state = git_repo(home / "sources" / "repo", "BDG_HOME is state")
    elsewhere = git_repo(workdir / "elsewhere", "nope")
    service = [sys.executable, str(workdir / "service.py")]
    proc = await up_process(home, {"alpha": service}, {}, sandbox_env, cwd=project)
    seen: list[str] = []
    try:
        started = await read_until(proc, r"\[up\] sandbox: sandboxd \(pid (\d+)\) at (\S+),", seen)
        pid, endpoint = int(started[1]), started[2]
        assert endpoint == sandbox_env["AGENT_SANDBOX_ENDPOINT"]
        assert f"local repositories under {project}, {home / 'demo-repos'}" in seen[-1]
        await read_until(proc, r"\[alpha\] hello pid=", seen)  # services start after sandboxd
        # The same roots are granted to the local tenant, for the gateway and the CLI.
        grants = json.loads((home / "source-grants.json").read_text())
        assert grants == {"local": [str(project), str(home / "demo-repos")]}
        assert await workspace_text(endpoint, here, "w1") == "from the current directory"
        assert await workspace_text(endpoint, in_home, "w2") == "from BDG_HOME/demo-repos"
        # sandboxd reads the same grants: another tenant gets none of the local tenant's roots.
        with pytest.raises(SandboxRequestError, match="outside the roots granted to tenant 't'"):
            await workspace_text(endpoint, here, "w5", tenant="t")
        with pytest.raises(SandboxRequestError, match="outside the allowed source roots"):
            await workspace_text(endpoint, elsewhere, "w3")
        for state in (in_state, home / "pg", home):
            with pytest.raises(SandboxRequestError, match="in a state dir"):
                await workspace_text(endpoint, state, "w4")

        proc.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, "\n".join(seen) + rest.decode()
        assert "[up] stopping sandboxd" in rest.decode()
        assert not is_sandboxd(pid)
        assert not (home / "sandbox" / "sandboxd.pid").exists()
    finally:
        await kill_if_running(proc)


@pytest.mark.slow
@pytest.mark.timeout(150)
async def test_up_uses_a_sandboxd_that_already_answers_and_leaves_it_running(
    workdir: Path, sandbox_env: dict[str, str]
) -> None:
    home = workdir / "home"
    place = Place(workdir / "theirs", sandbox_env["AGENT_SANDBOX_ENDPOINT"])
    theirs = await asyncio.to_thread(launch, place, {"SANDBOX_SOURCE_ROOTS": "[]"}, 30.0)
    assert isinstance(theirs, Started), theirs
    service = [sys.executable, str(workdir / "service.py")]
    proc = await up_process(home, {"alpha": service}, {}, sandbox_env)
    seen: list[str] = []
    try:
        answers = r"\[up\] sandbox: sandboxd already answers at \S+ \(\w+\); using it"
        await read_until(proc, answers, seen)
        await read_until(proc, r"\[alpha\] hello pid=", seen)
        proc.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, "\n".join(seen) + rest.decode()
        assert "stopping sandboxd" not in rest.decode()
        assert is_sandboxd(theirs.pid)  # not ours to stop
    finally:
        await kill_if_running(proc)
        await asyncio.to_thread(stop, place, theirs.pid, 10.0)


@pytest.mark.slow
@pytest.mark.timeout(150)
async def test_up_without_a_working_sandboxd_still_runs_the_services(
    workdir: Path, sandbox_env: dict[str, str]
) -> None:
    home = workdir / "home"
    service = [sys.executable, str(workdir / "service.py")]
    env = {**sandbox_env, "SANDBOX_BACKEND": "no-such-backend"}
    proc = await up_process(home, {"alpha": service}, {}, env)
    seen: list[str] = []
    try:
        await read_until(proc, r"\[up\] sandbox: sandboxd exited with \d+ .*; log ", seen)
        await read_until(proc, r"\[alpha\] hello pid=", seen)
        proc.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, "\n".join(seen) + rest.decode()
    finally:
        await kill_if_running(proc)


class Sleeper:
    """A stand-in server: a real process that `kill -9` ends; restarting it can be made to fail."""

    def __init__(self, failures: int = 0) -> None:
        self.failures, self.proc = failures, self._spawn()

    @staticmethod
    def _spawn() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])

    def alive(self) -> bool:
        return self.proc.poll() is None

    def restart(self) -> str:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("port still taken")
        self.proc = self._spawn()
        return f"pid {self.proc.pid}"

    def server(self) -> EmbeddedServer:
        return EmbeddedServer("fake", self.alive, self.restart)


@pytest.mark.timeout(60)
async def test_a_killed_server_is_restarted_with_backoff_until_the_stop() -> None:
    capture, sleeper = Capture(), Sleeper(failures=1)
    service = {"alpha": [sys.executable, "-c", "import signal; signal.pause()"]}
    console = Console(file=capture, width=200)  # type: ignore[arg-type]
    sup = Supervisor(service, dict(os.environ), console, servers=[sleeper.server()])
    running = asyncio.create_task(sup.run())
    try:
        first = sleeper.proc.pid
        sleeper.proc.kill()
        restarted = await capture.wait_for(r"\[fake\] restarted: pid (\d+)")
        assert int(restarted[1]) == sleeper.proc.pid != first
        out = capture.getvalue()
        assert "[fake] is gone (killed or crashed)" in out
        assert "[fake] restarting in 0.5s" in out
        assert "[fake] restart failed: port still taken" in out
        assert "[fake] restarting in 1.0s" in out  # the failed try counts: a longer wait

        sleeper.proc.kill()  # again: it keeps watching
        await capture.wait_for(r"(\[fake\] restarted: pid \d+[\s\S]*){2}")
        assert "[fake] restarting in 2.0s" in capture.getvalue()  # close together: longer
        assert sleeper.alive()
    finally:
        sup.request_stop()
        assert await asyncio.wait_for(running, 10) is True
        sleeper.proc.kill()
        sleeper.proc.wait()
