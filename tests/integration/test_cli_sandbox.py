"""`bdg sandbox start|stop|status` as a user runs them: `bdg` in a subprocess, a temporary BDG_HOME
and endpoint, a real sandboxd started detached."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bdg_cli.sandbox import is_sandboxd
from bdg_sandbox.client import SandboxClient

pytestmark = pytest.mark.timeout(120)


@dataclass
class Home:
    path: Path
    endpoint: str

    @property
    def pid_file(self) -> Path:
        return self.path / "sandbox" / "sandboxd.pid"

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "BDG_HOME": str(self.path),
            "AGENT_SANDBOX_ENDPOINT": self.endpoint,
            **extra,
        }

    async def bdg(self, *args: str, code: int = 0, its_log: bool = False, **env: str) -> str:
        """``bdg sandbox *args``'s output; a traceback only from sandboxd's log (``its_log``)."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bdg_cli.main",
            "sandbox",
            *args,
            env=self.env(**env),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        text = out.decode(errors="replace")
        assert proc.returncode == code, f"bdg sandbox {' '.join(args)} -> {proc.returncode}\n{text}"
        assert its_log or "Traceback" not in text, text
        return text


@pytest.fixture(name="home")
async def home_fixture() -> AsyncIterator[Home]:
    # Outside pytest's tmp root, which is 0700: the sandbox user must reach the workspaces.
    path = Path(tempfile.mkdtemp(prefix="bdg-cli-sandbox-"))
    os.chmod(path, 0o755)
    home = Home(path, f"unix://{path}/s.sock")
    try:
        yield home
    finally:
        # Whatever a failed test left running is stopped by the command under test, or by pid.
        pid = home.pid_file.read_text().strip() if home.pid_file.exists() else ""
        if pid.isdigit() and is_sandboxd(int(pid)):
            os.kill(int(pid), 9)
        shutil.rmtree(path, ignore_errors=True)


async def test_start_status_stop(home: Home) -> None:
    before = await home.bdg("status", code=1)
    assert "sandboxd not running" in before
    assert home.endpoint in before

    started = await home.bdg("start")
    assert "sandboxd running (pid" in started
    assert "backend: " in started
    assert "no_network" in started
    pid = int(home.pid_file.read_text())
    assert is_sandboxd(pid)
    assert os.getsid(pid) == pid  # its own session: the terminal's ^C does not reach it
    assert (home.path / "sandbox" / "sandboxd.log").exists()
    async with SandboxClient(home.endpoint) as client:
        assert (await client.hello()).backend in {"runc", "bwrap"}

    again = await home.bdg("start")
    assert f"already running (pid {pid})" in again
    assert int(home.pid_file.read_text()) == pid

    status = await home.bdg("status")
    assert f"sandboxd running (pid {pid})" in status
    assert f"endpoint: {home.endpoint}" in status
    assert "protections: " in status

    stopped = await home.bdg("stop")
    assert f"stopped (pid {pid})" in stopped
    assert not home.pid_file.exists()
    assert not is_sandboxd(pid)

    assert "not running" in await home.bdg("status", code=1)
    assert "not running" in await home.bdg("stop")


async def test_a_daemon_that_dies_at_start_is_reported_with_its_log(home: Home) -> None:
    out = await home.bdg("start", "--timeout", "30", code=1, its_log=True, SANDBOX_BACKEND="x")
    assert "sandboxd exited with" in out
    assert "sandbox_backend" in out  # from its log: the setting it refused
    assert not home.pid_file.exists()


async def test_a_bad_endpoint_is_refused(home: Home) -> None:
    out = await home.bdg("status", code=2, AGENT_SANDBOX_ENDPOINT="tcp://127.0.0.1:1")
    assert "must be unix:///path" in out


async def test_stop_kills_a_daemon_that_ignores_sigterm(home: Home) -> None:
    # A stand-in whose command line names bdg_sandboxd (so stop accepts the pid) but that
    # ignores SIGTERM: stop must fall back to SIGKILL after its deadline.
    stubborn = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import signal, sys; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); sys.stdin.read()",
        "bdg_sandboxd",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert stubborn.stdout is not None
    assert await asyncio.wait_for(stubborn.stdout.readline(), 20) == b"ready\n"
    home.pid_file.parent.mkdir(parents=True)
    home.pid_file.write_text(f"{stubborn.pid}\n")
    try:
        out = await home.bdg("stop", "--timeout", "1")
        assert f"stopped (pid {stubborn.pid})" in out
        assert await asyncio.wait_for(stubborn.wait(), 20) == -9
    finally:
        if stubborn.returncode is None:
            stubborn.kill()
            await stubborn.wait()
    assert not home.pid_file.exists()


async def test_a_stale_pid_file_is_not_trusted(home: Home) -> None:
    # A pid that is not sandboxd (here: this test process) is never signalled.
    home.pid_file.parent.mkdir(parents=True)
    home.pid_file.write_text(f"{os.getpid()}\n")
    assert "not running" in await home.bdg("stop")
    assert not home.pid_file.exists()
