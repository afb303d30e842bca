"""Nearest chunks by cosine distance, answered by the HNSW index."""

from __future__ import annotations

import functools
from typing import Any

from pgvector import Vector
from psycopg import AsyncConnection, sql

from bdg_indexer.search.ranking import SearchHit
from bdg_indexer.search.rows import COLUMNS, fetch, query_bytes, scope_of, to_hit
from bdg_indexer.storage.spaces import EmbeddingSpace
from bdg_indexer.storage.vectors import ChunkStore

# MATERIALIZED: the inner ORDER BY ... LIMIT is what the HNSW index answers; the outer sort
# restores exact order, which relaxed_order iterative scans may not keep. Chunks not embedded
# yet (indexing's second pass) have no distance: the index holds none, the exact scan skips
# them; full-text search finds them meanwhile.
_NEAREST = """
WITH nearest AS MATERIALIZED (
    SELECT {columns}, c.embedding <=> %(vector)s AS distance FROM {table} c
    WHERE {scope} AND c.embedding IS NOT NULL ORDER BY distance LIMIT %(n)s
)
SELECT *, 1 - distance AS similarity, NULL::real AS text_rank FROM nearest
ORDER BY distance, path, chunk_no
"""
# `+ 0` makes the sort key an expression the HNSW index does not serve: every distance of the
# scope's rows is computed (the tenant/repo index finds them).
_EXACT = _NEAREST.replace(
    "ORDER BY distance LIMIT", "ORDER BY (c.embedding <=> %(vector)s) + 0 LIMIT"
)


@functools.cache
def _query(template: str, space: EmbeddingSpace, in_repo: bool) -> bytes:
    """``template`` for one space and shape, composed once (rows.query_bytes)."""
    parts = {"columns": COLUMNS, "table": sql.Identifier(space.table), "scope": scope_of(in_repo)}
    return query_bytes(sql.SQL(template).format(**parts))


async def nearest(
    conn: AsyncConnection[Any],
    store: ChunkStore,
    tenant: str,
    repo: str | None,
    vector: Vector,
    n: int,
    ef_search: int,
) -> list[SearchHit]:
    """The ``n`` chunks nearest to ``vector``; call inside a transaction (settings are local)."""
    # set_config(..., true) is SET LOCAL: it ends with the transaction, so a pooled connection
    # goes back with the server's defaults. The HNSW candidate list must hold at least n.
    await conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(max(ef_search, n)),))
    if store.iterative_scan:
        # pgvector >= 0.8: keep walking the graph until enough rows pass the tenant/repo filter
        # (without it a small tenant in a big table gets fewer than n hits).
        await conn.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")
    params = {"tenant": tenant, "repo": repo, "vector": vector, "n": n}
    rows = await fetch(conn, _query(_NEAREST, store.space, repo is not None), params)
    if len(rows) < n:
        # The index hands out its ef_search nearest chunks of all tenants before the filter:
        # a tenant (or repo) small beside others can come back short. Its rows are few, so
        # ranking all of them is cheap; a scope that truly has fewer than n rows lands here too.
        rows = await fetch(conn, _query(_EXACT, store.space, repo is not None), params)
    return [to_hit(row, score=row["similarity"]) for row in rows]
