"""`bdg job fork JOB --at VERSION --model M`: a new job from a point of an old one, its model
calls from then on made with another model."""

from __future__ import annotations

from typing import Annotated, get_args
from uuid import UUID

import typer
from rich.console import Console

from bdg_cli import render
from bdg_cli.context import caller, connected, fail, run
from bdg_contracts import commands as cmd
from bdg_contracts.events import ModelRole

ROLES: tuple[ModelRole, ...] = get_args(ModelRole)


def parse_models(specs: list[str]) -> dict[ModelRole, str]:
    """``M`` names the model of every role; ``ROLE=M`` of one role (later wins)."""
    models: dict[ModelRole, str] = {}
    for spec in specs:
        role, sep, model = spec.partition("=")
        if not sep:
            models.update(dict.fromkeys(ROLES, spec))
        elif role in ROLES:
            models[role] = model
        else:
            fail(f"unknown role {role!r} in --model {spec}; roles: {', '.join(ROLES)}", 2)
    return models


def register(app: typer.Typer) -> None:
    @app.command("fork")
    def fork_command(
        job_id: Annotated[UUID, typer.Argument(metavar="JOB", help="the job's id")],
        at: Annotated[int, typer.Option("--at", min=1, help="last version to keep")],
        model: Annotated[
            list[str] | None,
            typer.Option(help="MODEL for every role, or ROLE=MODEL (repeatable)"),
        ] = None,
        tenant: Annotated[str | None, typer.Option(help="tenant [env BDG_TENANT]")] = None,
        user: Annotated[str | None, typer.Option(help="user [env BDG_USER]")] = None,
    ) -> None:
        """Start a new job from the first AT events of JOB; prints the new job's id."""
        command = cmd.ForkJob(at_version=at, models=parse_models(model or []))
        console = Console(highlight=False, soft_wrap=True)

        async def main() -> None:
            async with connected() as conn:
                job = await conn.commands.fork(caller(tenant, user), job_id, command)
            chosen = ", ".join(f"{r}={m}" for r, m in sorted(job.models.items())) or "as configured"
            console.print(str(job.job_id))
            console.print(
                f"forked from {job_id} at version {at}; models {chosen}; job is",
                render.state_text(job.state.value),
            )

        run(main())
