"""``bdg_index_status``: where each repository's indexing is, written as it goes, so a progress
bar (CLI, UI) can follow it. The events say only where a run ended; this says where it is."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal
from uuid import UUID

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

State = Literal["queued", "indexing", "ready", "failed"]
# The phases of an indexing run's two passes (indexing.py): chunks are stored first, counted in
# files, and found by full-text search from then on; their vectors follow, counted in chunks.
CHUNKING = "chunking"
EMBEDDING = "searchable, embedding"

_UPSERT = """
INSERT INTO bdg_index_status
    (repo_id, tenant, repo, state, phase, commit, files, chunks, done, total, errors, updated_at)
VALUES (%(repo_id)s, %(tenant)s, %(repo)s, %(state)s, %(phase)s, %(commit)s, %(files)s,
        %(chunks)s, %(done)s, %(total)s, %(errors)s, now())
ON CONFLICT (repo_id) DO UPDATE SET
    state = EXCLUDED.state, phase = EXCLUDED.phase, commit = EXCLUDED.commit,
    files = EXCLUDED.files, chunks = EXCLUDED.chunks, done = EXCLUDED.done,
    total = EXCLUDED.total, errors = EXCLUDED.errors, updated_at = now()
"""


@dataclass(frozen=True)
class Progress:
    """One row. ``files``/``chunks``: what the index holds (at ``commit`` once ready);
    ``done``/``total``: the current run's files while ``CHUNKING``, its chunks to embed while
    ``EMBEDDING``; ``errors``: files skipped or failed, with why."""

    repo_id: UUID
    tenant: str
    repo: str
    state: State = "queued"
    phase: str = ""
    commit: str | None = None
    files: int = 0
    chunks: int = 0
    done: int = 0
    total: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)

    def to(self, state: State, phase: str = "", **fields: Any) -> Progress:
        return replace(self, state=state, phase=phase, **fields)


class StatusBoard:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self.pool = pool

    async def read(self, repo_id: UUID) -> Progress | None:
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                "SELECT repo_id, tenant, repo, state, phase, commit, files, chunks, done, total,"
                " errors FROM bdg_index_status WHERE repo_id = %s",
                (repo_id,),
            )
            row = await cur.fetchone()
        return None if row is None else Progress(**row)

    async def queue(self, progress: Progress) -> None:
        """A first row for a repository never seen; an existing row is left as it is."""
        values = {**asdict(progress), "errors": Jsonb(progress.errors)}
        async with self.pool.connection() as conn:
            await conn.execute(_UPSERT.split("ON CONFLICT")[0] + "ON CONFLICT DO NOTHING", values)

    async def write(self, progress: Progress) -> None:
        values = asdict(progress)
        values["errors"] = Jsonb(progress.errors)
        async with self.pool.connection() as conn:
            await conn.execute(_UPSERT, values)
