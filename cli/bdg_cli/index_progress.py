"""Following the indexer: the tenant's repositories with their ``bdg_index_status`` rows (the
progress the indexer writes as it goes; "pending" before it has one), and progress bars over them.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bdg_cli.context import Connected

console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)

SETTLED = frozenset({"ready", "failed"})
POLL_SECONDS = 0.25
NO_INDEXER_NOTE_SECONDS = 10.0


@dataclass(frozen=True)
class Row:
    """One of the tenant's repositories and its status row (``listings.IndexStatus``)."""

    repo_id: UUID
    repo: str
    state: str
    phase: str
    commit: str | None
    files: int
    chunks: int
    done: int
    total: int
    errors: list[Any]
    updated_at: datetime | None


STATUS_SQL = """
    SELECT h.repo_id, h.repo, s.state, s.phase, s.commit, s.files, s.chunks, s.done, s.total,
           s.errors, s.updated_at
    FROM bdg_repo_hooks h LEFT JOIN bdg_index_status s ON s.repo_id = h.repo_id
    WHERE h.tenant = %s ORDER BY h.created_at, h.repo
"""


def statuses(database_url: str, tenant: str) -> list[Row]:
    with psycopg.connect(database_url, autocommit=True) as db:
        found = db.execute(STATUS_SQL, (tenant,)).fetchall()
    return [
        Row(rid, repo, state or "pending", phase or "", commit, files or 0, chunks or 0,
            done or 0, total or 0, errs if isinstance(errs, list) else [] if errs is None
            else [errs], updated)
        for rid, repo, state, phase, commit, files, chunks, done, total, errs, updated in found
    ]  # fmt: skip


async def rows(conn: Connected, tenant: str, repo_id: UUID | None = None) -> list[Row]:
    found = await asyncio.to_thread(statuses, conn.database_url, tenant)
    return [r for r in found if repo_id is None or r.repo_id == repo_id]


async def follow(conn: Connected, tenant: str, repo_ids: list[UUID], stall: float | None) -> bool:
    """Progress bars until every repository in ``repo_ids`` is ready or failed (True); or, with
    ``stall``, until nothing has moved for that long (False)."""
    noted, started = False, time.monotonic()
    moved_at, seen = started, None
    with Progress(
        TextColumn("{task.fields[repo]}"),
        TextColumn("[cyan]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        tasks: dict[UUID, Any] = {}
        while True:
            found = [r for r in await rows(conn, tenant) if r.repo_id in repo_ids]
            for row in found:
                if row.repo_id not in tasks:
                    tasks[row.repo_id] = progress.add_task("", total=None, repo=_short(row.repo))
                progress.update(
                    tasks[row.repo_id],
                    description=f"{row.state} {row.phase}".strip(),
                    completed=row.done,
                    total=row.total or None,
                )
            if found and all(r.state in SETTLED for r in found):
                return True
            now = time.monotonic()
            if found != seen:
                moved_at, seen = now, found
            if stall is not None and now - moved_at > stall:
                return False
            if (
                not noted
                and now - started > NO_INDEXER_NOTE_SECONDS
                and all(r.state == "pending" for r in found)
            ):
                noted = True
                errors.print(
                    "no indexer has started on it yet (is `bdg up` running?); still waiting, "
                    "Ctrl-C stops waiting (the registration stays)"
                )
            await asyncio.sleep(POLL_SECONDS)


def _short(repo: str, width: int = 40) -> str:
    return repo if len(repo) <= width else "…" + repo[-(width - 1) :]
