"""`bdg sandbox start|stop|status`: a sandboxd of one's own, started by hand (`bdg up` and
`bdg demo --live` start one too when none answers, and stop it again).

`start` runs `python -m bdg_sandboxd.main` in its own session, with its pid file and log under
BDG_HOME/sandbox/, and waits until it answers `hello`; `stop` sends SIGTERM, then SIGKILL after a
deadline. The endpoint is AGENT_SANDBOX_ENDPOINT, as for the services.
"""

from __future__ import annotations

from typing import Annotated

import typer

from bdg_cli.sandbox_daemon import (
    NotStarted,
    Place,
    describe,
    is_sandboxd,
    launch,
    probe,
)
from bdg_cli.sandbox_daemon import stop as stop_daemon
from bdg_contracts import sandbox as sb
from bdg_sandbox.client import SandboxClient

__all__ = ["app", "is_sandboxd"]

app = typer.Typer(
    help="sandboxd, the sandbox daemon (bdg up starts one too).", no_args_is_help=True
)


def _place() -> Place:
    place = Place.from_settings()
    try:
        SandboxClient(place.endpoint)
    except ValueError as error:
        typer.echo(f"bdg sandbox: {error}", err=True)
        raise typer.Exit(2) from None
    return place


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
    started = launch(place, {}, timeout)
    if isinstance(started, NotStarted):
        typer.echo(f"sandboxd {started.reason}; its log ({place.log_file}):", err=True)
        typer.echo(started.log, err=True)
        raise typer.Exit(1)
    typer.echo(f"sandboxd running (pid {started.pid}) at {place.endpoint}")
    typer.echo(describe(started.welcome))
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
    stop_daemon(place, pid, timeout)
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
