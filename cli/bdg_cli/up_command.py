"""`bdg up`: the command's options; the work is in ``bdg_cli.up`` (imported when it runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bdg_cli import up


def register(app: typer.Typer) -> None:
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
        raise typer.Exit(
            up.up(home, chosen, sandbox=not no_sandbox, source_roots=source_root or ())
        )
