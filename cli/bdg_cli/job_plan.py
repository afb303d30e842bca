"""`bdg job plan JOB [--version N] [--diff A B] [--json]`: a job's plan versions (the planner's
drafts, the plan put up for approval, people's edits), one of them whole, or the diff of two."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bdg_cli import render
from bdg_cli.context import caller, connected, fail, run
from bdg_cli.options import JobId, Tenant, User
from bdg_contracts.base import Event
from bdg_jobs.plans import PlanVersion, PlanVersionError, plan_diff, plan_versions

console = Console(highlight=False, soft_wrap=True)


def versions_json(versions: list[PlanVersion]) -> str:
    return json.dumps(
        [
            {
                "number": v.number,
                "kind": v.kind,
                "author": v.author,
                "event_version": v.event_version,
                "at": v.at.isoformat(),
                "markdown": v.markdown,
            }
            for v in versions
        ],
        indent=2,
    )


def versions_table(versions: list[PlanVersion]) -> Table:
    table = Table(title="plan versions", title_justify="left", box=None)
    for name in ("n", "kind", "author", "event", "at", "checkboxes"):
        table.add_column(name, no_wrap=True)
    for v in versions:
        ticked, total = render.checkboxes(v.markdown)
        at = v.at.isoformat(timespec="seconds")
        table.add_row(
            str(v.number), v.kind, v.author, f"v{v.event_version}", at, f"{ticked}/{total}"
        )
    return table


def plan(
    job_id: JobId,
    version: Annotated[
        int | None, typer.Option(min=1, help="print this version whole (default: the newest)")
    ] = None,
    diff: Annotated[
        tuple[int, int] | None,
        typer.Option(metavar="A B", help="a unified diff from version A to version B"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="every version as JSON")] = False,
    tenant: Tenant = None,
    user: User = None,
) -> None:
    """The job's plan: its versions, then the newest (or --version N) whole, or --diff A B."""

    async def main() -> list[Event]:
        async with connected() as conn:
            return await conn.commands.events(caller(tenant, user), job_id)

    history = run(main())
    versions = plan_versions(history)
    try:
        if diff is not None:
            print(plan_diff(history, *diff), end="")
            return
        if as_json:
            print(versions_json(versions))
            return
        if not versions:
            console.print(f"job {job_id} has no plan yet")
            return
        chosen = versions[-1] if version is None else _pick(versions, version)
    except PlanVersionError as error:
        fail(str(error), 1)
    console.print(versions_table(versions))
    console.print(Text(f"\nplan v{chosen.number} ({chosen.kind}, {chosen.author}):", style="bold"))
    print(chosen.markdown.rstrip())


def _pick(versions: list[PlanVersion], number: int) -> PlanVersion:
    if number > len(versions):
        raise PlanVersionError(f"no plan version {number} (the job has {len(versions)})")
    return versions[number - 1]


def register(app: typer.Typer) -> None:
    app.command("plan")(plan)
