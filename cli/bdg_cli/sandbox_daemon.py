"""A sandboxd process of this user's: where it lives, starting it, asking it, stopping it.

`bdg sandbox start|stop|status` and `bdg up` (which starts one when none answers) share this:
``python -m bdg_sandboxd.main`` in its own session, pid file and log under BDG_HOME/sandbox/,
ready once it answers `hello`; stopped by SIGTERM, then SIGKILL after a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bdg_contracts import sandbox as sb
from bdg_runtime.settings import Settings
from bdg_sandbox.client import SandboxClient, SandboxRequestError, SandboxUnavailableError

POLL_SECONDS = 0.1
LOG_TAIL_BYTES = 4000
NO_BACKEND = 2  # sandboxd's exit code when neither runc nor bubblewrap can run here


@dataclass(frozen=True)
class Place:
    """Where this user's sandboxd keeps its pid file, log and state, and where it listens."""

    home: Path
    endpoint: str

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Place:
        settings = settings or Settings()
        return cls((settings.bdg_home / "sandbox").resolve(), settings.agent_sandbox_endpoint)

    @property
    def pid_file(self) -> Path:
        return self.home / "sandboxd.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "sandboxd.log"

    def pid(self) -> int | None:
        """The pid of the sandboxd we started, if it still runs."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if is_sandboxd(pid) else None


def is_sandboxd(pid: int) -> bool:
    """A live (not zombie) process running bdg_sandboxd: a recycled pid is not ours to signal."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaps it if it is our own child and has exited
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    state = stat.rpartition(")")[2].split()[0]
    return state not in {"Z", "X"} and b"bdg_sandboxd" in cmdline


def probe(endpoint: str, timeout: float) -> sb.Welcome | str:
    """sandboxd's welcome, or why none came within ``timeout`` seconds."""

    async def ask() -> sb.Welcome | str:
        try:
            async with asyncio.timeout(timeout):
                async with SandboxClient(endpoint, connect_timeout=timeout) as client:
                    return await client.hello()
        except (SandboxUnavailableError, SandboxRequestError) as error:
            return str(error)
        except TimeoutError:
            return f"no answer within {timeout}s"

    return asyncio.run(ask())


def describe(welcome: sb.Welcome) -> str:
    held = [name for name, holds in sorted(welcome.protections.items()) if holds]
    missing = [name for name, holds in sorted(welcome.protections.items()) if not holds]
    lines = [
        f"backend: {welcome.backend} ({welcome.max_concurrent} execs at once)",
        f"protections: {', '.join(held) or 'none'}",
    ]
    if missing:
        lines.append(f"missing: {', '.join(missing)}")
    return "\n".join(lines)


def tail(path: Path) -> str:
    with contextlib.suppress(OSError), path.open("rb") as log:
        log.seek(max(path.stat().st_size - LOG_TAIL_BYTES, 0))
        return log.read().decode(errors="replace")
    return ""


def gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while is_sandboxd(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True


def kill(pid: int, timeout: float) -> None:
    """SIGTERM, then SIGKILL if it is still there after ``timeout`` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        if not gone(pid, timeout):
            os.kill(pid, signal.SIGKILL)
            gone(pid, 5)


def roots_env(roots: Sequence[Path]) -> dict[str, str]:
    """SANDBOX_SOURCE_ROOTS for sandboxd (a JSON list, as pydantic-settings reads tuples)."""
    return {"SANDBOX_SOURCE_ROOTS": json.dumps([str(p.resolve()) for p in roots])}


@dataclass(frozen=True)
class Started:
    """A sandboxd we launched, answering."""

    pid: int
    welcome: sb.Welcome


@dataclass(frozen=True)
class NotStarted:
    """Why a launched sandboxd did not come up; ``code`` is its exit code if it exited."""

    reason: str
    code: int | None
    log: str


def launch(
    place: Place,
    env: Mapping[str, str],
    timeout: float,
    pre_exec: Callable[[], None] | None = None,
) -> Started | NotStarted:
    """Start sandboxd in its own session (pid file, log under ``place``) and wait for its hello;
    one that does not answer is killed again. ``env`` is added to ours."""
    place.home.mkdir(parents=True, exist_ok=True)
    full_env = {
        **os.environ,
        "AGENT_SANDBOX_ENDPOINT": place.endpoint,
        "SANDBOX_STATE_DIR": os.environ.get("SANDBOX_STATE_DIR") or str(place.home / "state"),
        **env,
    }
    with place.log_file.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bdg_sandboxd.main"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
            start_new_session=True,
            preexec_fn=pre_exec,
        )
    place.pid_file.write_text(f"{proc.pid}\n")
    answer = _hello_from(proc, place.endpoint, timeout)
    if isinstance(answer, sb.Welcome):
        return Started(proc.pid, answer)
    if proc.poll() is None:
        kill(proc.pid, 5)
    place.pid_file.unlink(missing_ok=True)
    return NotStarted(answer, proc.returncode, tail(place.log_file))


def stop(place: Place, pid: int, timeout: float) -> None:
    kill(pid, timeout)
    place.pid_file.unlink(missing_ok=True)


def _hello_from(proc: subprocess.Popen[bytes], endpoint: str, timeout: float) -> sb.Welcome | str:
    """The new daemon's welcome, or why it did not come."""
    deadline = time.monotonic() + timeout
    while not isinstance(answer := probe(endpoint, 1.0), sb.Welcome):
        if proc.poll() is not None:
            return f"exited with {proc.returncode}"
        if time.monotonic() > deadline:
            return f"did not answer within {timeout}s ({answer})"
        time.sleep(POLL_SECONDS)
    return answer
