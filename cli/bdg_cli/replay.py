"""`bdg replay`: rebuild the read models from the event log (every one, or the one named), with
a progress bar; list the events each had to skip (poisoned, ``bdg_jobs.poison``);
``--retry-poisoned`` re-applies only those."""

from __future__ import annotations

import time
from typing import Annotated

import psycopg
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from bdg_cli.context import fail, urls
from bdg_jobs import poison
from bdg_jobs.agent_config import AgentConfigProjection
from bdg_jobs.migrations import migrate
from bdg_jobs.projector import Projection, rebuild, retry_poisoned
from bdg_jobs.site_reading.projection import SitesProjection
from bdg_jobs.store import JobStore

# Every read model projected from the log, in the order a full replay rebuilds them.
PROJECTIONS: dict[str, type[Projection]] = {
    AgentConfigProjection.name: AgentConfigProjection,
    SitesProjection.name: SitesProjection,
}
ALL = "all"


def register(app: typer.Typer) -> None:
    @app.command("replay")
    def replay_command(
        projection: Annotated[
            str,
            typer.Option(help=f"read model to rebuild: {', '.join(PROJECTIONS)} or {ALL}"),
        ] = ALL,
        batch: Annotated[int, typer.Option(min=1, help="events per transaction")] = 1000,
        retry_poisoned: Annotated[
            bool,
            typer.Option(
                "--retry-poisoned",
                help="re-apply only the skipped (poisoned) events, after a fix; clear those "
                "that now apply",
            ),
        ] = False,
    ) -> None:
        """Empty the read models (or the one named) and rebuild them from the whole log."""
        if projection != ALL and projection not in PROJECTIONS:
            known = ", ".join([*PROJECTIONS, ALL])
            fail(f"unknown projection {projection!r}; known: {known}", 2)
        console = Console(highlight=False)
        for name in PROJECTIONS if projection == ALL else [projection]:
            if retry_poisoned:
                retry(PROJECTIONS[name](), console)
            else:
                replay(PROJECTIONS[name](), batch, console)


def replay(projection: Projection, batch: int, console: Console) -> int:
    with urls() as (database_url, _):
        migrate(database_url)
        store = JobStore.from_url(database_url)
        try:
            with (
                psycopg.connect(database_url, autocommit=True) as conn,
                Progress(
                    TextColumn(f"replaying into {projection.name}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TaskProgressColumn(),
                    TimeElapsedColumn(),
                    TimeRemainingColumn(),
                    console=console,
                ) as progress,
            ):
                task = progress.add_task("replay", total=None)

                def advance(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                started = time.perf_counter()
                applied = rebuild(store, conn, batch, advance, projection)
                elapsed = time.perf_counter() - started
            skipped = _poisoned(conn_url=database_url, name=projection.name)
        finally:
            store.close()
    rate = applied / elapsed if elapsed > 0 else 0.0
    console.print(
        f"rebuilt {projection.name}: {applied} events in {elapsed:.2f} s ({rate:,.0f} events/s)"
    )
    report(skipped, console)
    return applied


def retry(projection: Projection, console: Console) -> None:
    with urls() as (database_url, _):
        migrate(database_url)
        store = JobStore.from_url(database_url)
        try:
            with psycopg.connect(database_url, autocommit=True) as conn:
                repaired = retry_poisoned(store, conn, projection)
            left = _poisoned(conn_url=database_url, name=projection.name)
        finally:
            store.close()
    console.print(
        f"{projection.name}: {len(repaired.cleared)} poisoned job(s) now apply and were "
        f"cleared, {len(repaired.failing)} still fail"
    )
    report(left, console)


def _poisoned(conn_url: str, name: str) -> list[poison.Poisoned]:
    with psycopg.connect(conn_url, autocommit=True) as conn:
        return poison.listed(conn, name)


def report(skipped: list[poison.Poisoned], console: Console) -> None:
    """One line per poisoned job: the event skipped, where, since when, and why."""
    if not skipped:
        return
    console.print(
        f"[bold red]{len(skipped)} job(s) skipped[/] (poisoned events; their rows stay at the "
        "last version that applied; after a fix: bdg replay --retry-poisoned):"
    )
    for p in skipped:
        console.print(
            f"  {p.originator} {p.event_name} v{p.event_version} (event {p.event_id}, position "
            f"{p.position}, since {p.first_seen:%Y-%m-%d %H:%M:%S}, {p.held} later event(s) "
            f"held): {p.error}",
            markup=False,
        )
