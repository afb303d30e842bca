"""A tenant's repositories with their index status (``bdg_repo_hooks`` + ``bdg_index_status``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from bdg_gateway.index_views import IndexStatusView

_STATUS = """
    SELECT h.repo_id, h.repo, h.created_at, s.state, s.phase, s.commit, s.files, s.chunks,
           s.done, s.total, s.errors, s.updated_at
    FROM bdg_repo_hooks h LEFT JOIN bdg_index_status s ON s.repo_id = h.repo_id
    WHERE h.tenant = %(tenant)s AND (%(repo_id)s::uuid IS NULL OR h.repo_id = %(repo_id)s::uuid)
    ORDER BY h.created_at, h.repo
"""


class IndexQueries:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self.pool = pool

    async def statuses(self, tenant: str, repo_id: UUID | None = None) -> list[IndexStatusView]:
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(_STATUS, {"tenant": tenant, "repo_id": repo_id})
            return [_view(row) for row in await cur.fetchall()]


def _view(row: dict[str, Any]) -> IndexStatusView:
    return IndexStatusView(
        id=row["repo_id"],
        repo=row["repo"],
        state=row["state"] or "pending",
        phase=row["phase"] or "",
        done=row["done"] or 0,
        total=row["total"] or 0,
        files=row["files"] or 0,
        chunks=row["chunks"] or 0,
        commit=row["commit"],
        errors=_errors(row["errors"]),
        registered_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _errors(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
