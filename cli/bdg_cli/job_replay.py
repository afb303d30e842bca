"""`bdg job replay JOB`: re-run a job's handlers against its recorded model answers and report
the first event where the new run differs from the recorded one."""

from __future__ import annotations

import json
import time
from importlib.metadata import entry_points
from typing import Annotated
from uuid import UUID

import typer
from rich.console import Console

from bdg_cli.context import caller, connected, fail, run
from bdg_runtime.job_replay import ReplayFactory, ReplayReport, replay_job

REPLAYERS = "bdg.replayers"


def replayers(only: list[str] | None = None) -> dict[str, ReplayFactory]:
    """The installed services' replay factories (entry points ``bdg.replayers``)."""
    found = {ep.name: ep for ep in entry_points(group=REPLAYERS)}
    unknown = sorted(set(only or ()) - found.keys())
    if unknown:
        fail(
            f"no replayable service {', '.join(unknown)}; installed: {', '.join(sorted(found))}", 2
        )
    return {name: ep.load() for name, ep in found.items() if not only or name in only}


def print_report(report: ReplayReport, seconds: float, console: Console) -> None:
    rate = report.events / seconds if seconds > 0 else 0.0
    runs = ", ".join(f"{s} {n}" for s, n in sorted(report.by_service.items())) or "none"
    console.print(
        f"replayed job {report.job_id}: {report.events} events checked, "
        f"{report.reactions} reactions re-run ({runs}), {report.compared} events reproduced "
        f"in {seconds:.2f} s ({rate:,.0f} events/s)"
    )
    d = report.divergence
    if d is None:
        console.print("[green]same events as recorded[/green]")
        if report.unused_calls:
            console.print(f"{report.unused_calls} recorded model calls were not asked for again")
        return
    console.print(
        f"[red]diverges at version {d.version}[/red]: the {d.service}'s reaction to "
        f"{d.trigger}: {d.reason}"
    )
    for label, events in (("recorded", d.recorded), ("new run", d.replayed)):
        if events:
            console.print(f"{label}: {json.dumps(events[0], sort_keys=True)[:2000]}")


def register(app: typer.Typer) -> None:
    @app.command("replay")
    def replay_command(
        job_id: Annotated[UUID, typer.Argument(metavar="JOB", help="the job's id")],
        service: Annotated[
            list[str] | None,
            typer.Option(help="re-run only this service's handlers (repeatable)"),
        ] = None,
        tenant: Annotated[str | None, typer.Option(help="tenant [env BDG_TENANT]")] = None,
        user: Annotated[str | None, typer.Option(help="user [env BDG_USER]")] = None,
    ) -> None:
        """Re-run the job's handlers on its recorded answers; exit 1 at the first divergence.

        Nothing is written: the new run lives in memory. Each service runs with the settings
        the job recorded for it, whatever this shell's environment says; steps answered from a
        recorded script are answered from what the job recorded."""
        factories = replayers(service)
        console = Console(highlight=False, soft_wrap=True)

        async def main() -> ReplayReport:
            async with connected() as conn:
                history = await conn.commands.events(caller(tenant, user), job_id)
            started = time.perf_counter()
            report = await replay_job(history, factories)
            print_report(report, time.perf_counter() - started, console)
            return report

        if not run(main()).same:
            raise typer.Exit(1)
