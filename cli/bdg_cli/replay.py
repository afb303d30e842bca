"""`bdg replay`: rebuild a read model from the event log, with a progress bar."""

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
from bdg_jobs.agent_config import AgentConfigProjection
from bdg_jobs.migrations import migrate
from bdg_jobs.projector import Projection, rebuild
from bdg_jobs.store import JobStore

PROJECTIONS: dict[str, type[Projection]] = {AgentConfigProjection.name: AgentConfigProjection}


def register(app: typer.Typer) -> None:
    @app.command("replay")
    def replay_command(
        projection: Annotated[
            str, typer.Option(help=f"read model to rebuild: {', '.join(PROJECTIONS)}")
        ] = AgentConfigProjection.name,
        batch: Annotated[int, typer.Option(min=1, help="events per transaction")] = 1000,
    ) -> None:
        """Empty a read model and rebuild it from the whole event log."""
        if projection not in PROJECTIONS:
            fail(f"unknown projection {projection!r}; known: {', '.join(PROJECTIONS)}", 2)
        replay(PROJECTIONS[projection](), batch, Console(highlight=False))


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
        finally:
            store.close()
    rate = applied / elapsed if elapsed > 0 else 0.0
    console.print(
        f"rebuilt {projection.name}: {applied} events in {elapsed:.2f} s ({rate:,.0f} events/s)"
    )
    return applied
