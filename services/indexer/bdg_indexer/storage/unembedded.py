"""A repository's chunks stored without a vector yet, and their vectors filled in.

Indexing stores chunks first (searchable by their words at once) and embeds them in a second
pass (indexing.py). The second pass reads the rows whose embedding IS NULL in id order (the
partial index spaces._allow_unembedded made) and sets their vectors. The UPDATE changes no
text, so the term-count trigger appends no delta for it (its UPDATE branch skips rows whose
tsvector is unchanged), and ``embedding IS NULL`` in its WHERE never overwrites a vector: a row
is embedded once, whichever run gets to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pgvector import Vector
from psycopg import sql

from bdg_indexer.storage.vectors import ChunkStore

_PAGE = """
SELECT id, content, token_count FROM {table}
WHERE tenant = %(tenant)s AND repo = %(repo)s AND embedding IS NULL AND id > %(after)s
ORDER BY id LIMIT %(limit)s
"""
_COUNT = "SELECT count(*) FROM {table} WHERE tenant = %s AND repo = %s AND embedding IS NULL"
_FILL = """
UPDATE {table} c SET embedding = r.embedding::vector, updated_at = now()
FROM unnest(%(ids)s::bigint[], %(embeddings)s::text[]) AS r(id, embedding)
WHERE c.id = r.id AND c.tenant = %(tenant)s AND c.repo = %(repo)s AND c.embedding IS NULL
"""


@dataclass(frozen=True)
class Unembedded:
    """A stored chunk waiting for its vector."""

    id: int
    text: str
    token_count: int


async def count(store: ChunkStore, tenant: str, repo: str) -> int:
    async with store.pool.connection() as conn:
        cur = await conn.execute(sql.SQL(_COUNT).format(table=store.table), (tenant, repo))
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def page(
    store: ChunkStore, tenant: str, repo: str, after: int, limit: int
) -> list[Unembedded]:
    """Up to ``limit`` chunks without a vector, of ids above ``after``, in id order: the next
    page does not wait for this one's vectors to be written."""
    params = {"tenant": tenant, "repo": repo, "after": after, "limit": limit}
    async with store.pool.connection() as conn:
        cur = await conn.execute(sql.SQL(_PAGE).format(table=store.table), params)
        return [Unembedded(*row) for row in await cur.fetchall()]


async def fill(
    store: ChunkStore, tenant: str, repo: str, items: Sequence[tuple[int, Sequence[float]]]
) -> int:
    """Set these rows' vectors (one statement, one transaction); rows written."""
    for row_id, vector in items:
        if len(vector) != store.space.dims:
            raise ValueError(
                f"chunk {row_id}: a vector of {len(vector)} floats in a "
                f"{store.space.dims}-dimension space"
            )
    if not items:
        return 0
    params = {
        "tenant": tenant,
        "repo": repo,
        "ids": [row_id for row_id, _ in items],
        "embeddings": [Vector(list(v)).to_text() for _, v in items],
    }
    async with store.pool.connection() as conn:
        cur = await conn.execute(sql.SQL(_FILL).format(table=store.table), params)
        return int(cur.rowcount)
