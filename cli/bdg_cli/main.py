"""The `bdg` command: one typer app wiring the sub-commands together."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import bdg_cli.job_attempts
from bdg_cli import (
    demo,
    dlq,
    index,
    job_fork,
    job_plan,
    job_replay,
    job_show,
    job_tools,
    jobs,
    replay,
    sandbox,
    search,
    up,
)

app = typer.Typer(
    name="bdg",
    help="BigDaddyG Agent: goal -> plan -> code -> test -> review -> deploy, event-sourced.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(jobs.app, name="job")
app.add_typer(dlq.app, name="dlq")
app.add_typer(sandbox.app, name="sandbox")
replay.register(app)
job_show.register(jobs.app)
job_plan.register(jobs.app)
job_tools.register(jobs.app)
job_replay.register(jobs.app)
job_fork.register(jobs.app)
bdg_cli.job_attempts.register(jobs.app)
demo.register(app)
app.add_typer(index.app, name="index")
app.command("search")(search.search)


@app.command("up")
def up_command(
    services: Annotated[
        list[str] | None, typer.Argument(help=f"subset of: {' '.join(up.SERVICES)}")
    ] = None,
    only: Annotated[str, typer.Option(help="comma-separated subset, e.g. planner,coder")] = "",
    home: Annotated[Path | None, typer.Option(help="state dir of the embedded stack")] = None,
    source_root: up.SourceRoots = None,
    no_sandbox: up.NoSandbox = False,
) -> None:
    """Start the stack (embedded unless configured), sandboxd (unless one answers), the local
    model (unless an endpoint is set) and every service, with prefixed logs."""
    chosen = [*(services or []), *(s.strip() for s in only.split(",") if s.strip())]
    raise typer.Exit(up.up(home, chosen, sandbox=not no_sandbox, source_roots=source_root or ()))


if __name__ == "__main__":
    app()
