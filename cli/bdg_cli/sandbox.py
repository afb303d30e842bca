"""`bdg sandbox start|stop|status`: a sandboxd of one's own, opt-in (nothing else starts it).

`start` runs `python -m bdg_sandboxd.main` in its own session, with its pid file and log under
BDG_HOME/sandbox/, and waits until it answers `hello`; `stop` sends SIGTERM, then SIGKILL after a
deadline. The endpoint is AGENT_SANDBOX_ENDPOINT, as for the services.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from bdg_contracts import sandbox as sb
from bdg_runtime.settings import Settings
from bdg_sandbox.client import SandboxClient, SandboxRequestError, SandboxUnavailableError

app = typer.Typer(
    help="sandboxd, the sandbox daemon: opt-in, never started on its own.", no_args_is_help=True
)
POLL_SECONDS = 0.1
LOG_TAIL_BYTES = 4000


@dataclass(frozen=True)
class Place:
    """Where this user's sandboxd keeps its pid file, log and state, and where it listens."""

    home: Path
    endpoint: str

    @classmethod
    def from_settings(cls) -> Place:
        settings = Settings()
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


def _place() -> Place:
    place = Place.from_settings()
    try:
        SandboxClient(place.endpoint)
    except ValueError as error:
        typer.echo(f"bdg sandbox: {error}", err=True)
        raise typer.Exit(2) from None
    return place


def _gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while is_sandboxd(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True


def _tail(path: Path) -> str:
    with contextlib.suppress(OSError), path.open("rb") as log:
        log.seek(max(path.stat().st_size - LOG_TAIL_BYTES, 0))
        return log.read().decode(errors="replace")
    return ""


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


def _kill(pid: int, timeout: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        if not _gone(pid, timeout):
            os.kill(pid, signal.SIGKILL)
            _gone(pid, 5)


@app.command()
def start(
    timeout: Annotated[float, typer.Option(help="seconds to wait for its hello")] = 30.0,
) -> None:
    """Start sandboxd in the background and wait until it answers."""
    place = _place()
    if (pid := place.pid()) is not None:
        typer.echo(f"sandboxd already running (pid {pid}) at {place.endpoint}")
        return
    if isinstance(answer := probe(place.endpoint, 2.0), sb.Welcome):
        typer.echo(f"a sandboxd already answers at {place.endpoint} (not started by bdg)")
        typer.echo(describe(answer))
        return
    place.home.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "AGENT_SANDBOX_ENDPOINT": place.endpoint,
        "SANDBOX_STATE_DIR": os.environ.get("SANDBOX_STATE_DIR") or str(place.home / "state"),
    }
    with place.log_file.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bdg_sandboxd.main"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    place.pid_file.write_text(f"{proc.pid}\n")
    answer = _hello_from(proc, place.endpoint, timeout)
    if not isinstance(answer, sb.Welcome):
        if proc.poll() is None:
            _kill(proc.pid, 5)
        place.pid_file.unlink(missing_ok=True)
        typer.echo(f"sandboxd {answer}; its log ({place.log_file}):", err=True)
        typer.echo(_tail(place.log_file), err=True)
        raise typer.Exit(1)
    typer.echo(f"sandboxd running (pid {proc.pid}) at {place.endpoint}")
    typer.echo(describe(answer))
    typer.echo(f"log: {place.log_file}")


@app.command()
def stop(
    timeout: Annotated[float, typer.Option(help="seconds before SIGKILL")] = 20.0,
) -> None:
    """Stop the sandboxd `bdg sandbox start` started (SIGTERM, then SIGKILL)."""
    place = _place()
    pid = place.pid()
    if pid is None:
        place.pid_file.unlink(missing_ok=True)
        typer.echo("sandboxd not running (none started by bdg)")
        return
    _kill(pid, timeout)
    place.pid_file.unlink(missing_ok=True)
    typer.echo(f"sandboxd stopped (pid {pid})")


@app.command()
def status() -> None:
    """Whether sandboxd answers, where, with which backend and protections (exit 1: not)."""
    place = _place()
    pid = place.pid()
    answer = probe(place.endpoint, 3.0)
    if isinstance(answer, sb.Welcome):
        by = f"pid {pid}" if pid is not None else "not started by bdg"
        typer.echo(f"sandboxd running ({by})\nendpoint: {place.endpoint}\n{describe(answer)}")
        return
    state = f"started (pid {pid}) but not answering" if pid is not None else "not running"
    typer.echo(f"sandboxd {state}\nendpoint: {place.endpoint}\nreason: {answer}")
    raise typer.Exit(1)
