"""The chunks of one embedding space in PostgreSQL: write, prune, count.

Async psycopg over a small pool: the indexer answers searches on its event loop (NATS
request/reply) while it embeds, so queries must not block the loop, and a thread per query would
buy nothing over psycopg's own async I/O. Every statement names the tenant in its WHERE clause:
tenants share a table, never rows.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from pgvector import Vector
from pgvector.psycopg import register_vector_async
from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool

from bdg_indexer.chunks import Chunk
from bdg_indexer.storage.spaces import (
    EmbeddingSpace,
    ensure_space,
    fold_term_counts,
    vacuum_term_deltas,
)

# One statement per batch, the rows as arrays: the chunk table's statement triggers (the
# full-text term counts, spaces._term_counts) then run once per batch, not once per chunk (per
# chunk they halved the upsert rate). Vectors travel as pgvector's text form; a chunk stored
# without one (NULL: indexing's first pass) keeps the vector of a row of the same text.
_UPSERT = """
    INSERT INTO {table} (tenant, repo, path, blob_sha, chunk_no, start_line, end_line, language,
                         token_count, content, embedding)
    SELECT %(tenant)s, %(repo)s, r.path, r.blob_sha, r.chunk_no, r.start_line, r.end_line,
           r.language, r.token_count, r.content, r.embedding::vector
    FROM unnest(%(paths)s::text[], %(blobs)s::text[], %(numbers)s::int[], %(starts)s::int[],
                %(ends)s::int[], %(languages)s::text[], %(tokens)s::int[], %(contents)s::text[],
                %(embeddings)s::text[])
         AS r(path, blob_sha, chunk_no, start_line, end_line, language, token_count, content,
              embedding)
    ON CONFLICT (tenant, repo, path, blob_sha, chunk_no) DO UPDATE SET
        start_line = EXCLUDED.start_line, end_line = EXCLUDED.end_line,
        language = EXCLUDED.language, token_count = EXCLUDED.token_count,
        content = EXCLUDED.content, embedding = {embedding}, updated_at = now()
    -- a re-run after a crash writes the same rows again: leave those alone (no dead tuples,
    -- no HNSW re-insert)
    WHERE ({table}.start_line, {table}.end_line, {table}.language, {table}.token_count,
           {table}.content, {table}.embedding)
          IS DISTINCT FROM (EXCLUDED.start_line, EXCLUDED.end_line, EXCLUDED.language,
                            EXCLUDED.token_count, EXCLUDED.content, {embedding})
"""
_NEW_OR_KEPT = (
    "coalesce(EXCLUDED.embedding, "
    "CASE WHEN {table}.content = EXCLUDED.content THEN {table}.embedding END)"
)


@dataclass(frozen=True)
class RepoCounts:
    files: int
    chunks: int


class ChunkStore:
    """Chunks and their vectors for one embedding space, shared by all tenants."""

    def __init__(
        self, pool: AsyncConnectionPool[Any], space: EmbeddingSpace, iterative_scan: bool = False
    ) -> None:
        self.pool = pool
        self.space = space
        self.table = sql.Identifier(space.table)
        self.iterative_scan = iterative_scan  # pgvector >= 0.8 can keep scanning past filters

    @classmethod
    async def open(cls, database_url: str, space: EmbeddingSpace, max_size: int = 4) -> ChunkStore:
        # The schema first, on a connection of its own: the pool's connections register the
        # `vector` type as they open, which needs the extension to exist.
        async with await AsyncConnection.connect(database_url, autocommit=True) as conn:
            await ensure_space(conn, space)
            cur = await conn.execute(
                "SELECT string_to_array(extversion, '.')::int[] >= '{0,8}' FROM pg_extension"
                " WHERE extname = 'vector'"
            )
            row = await cur.fetchone()
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            database_url,
            min_size=1,
            max_size=max_size,
            open=False,
            kwargs={"autocommit": True},
            configure=register_vector_async,
        )
        await pool.open()
        return cls(pool, space, iterative_scan=bool(row and row[0]))

    async def close(self) -> None:
        await self.pool.close()

    async def upsert(
        self, tenant: str, repo: str, items: Sequence[tuple[Chunk, Sequence[float] | None]]
    ) -> None:
        """Write chunks with their vectors (None: to be embedded, ``unembedded.py``); the same
        batch twice leaves the same rows."""
        for chunk, vector in items:
            if vector is not None and len(vector) != self.space.dims:
                raise ValueError(
                    f"{chunk.path}#{chunk.number}: a vector of {len(vector)} floats in a "
                    f"{self.space.dims}-dimension space"
                )
        # One statement cannot write a row twice: of a key given twice, the last one stands
        # (as when each row was its own statement).
        latest = {(c.path, c.blob_sha, c.number): (c, v) for c, v in items}
        chunks = [c for c, _ in latest.values()]
        if not chunks:
            return
        params = {
            "tenant": tenant,
            "repo": repo,
            "paths": [c.path for c in chunks],
            "blobs": [c.blob_sha for c in chunks],
            "numbers": [c.number for c in chunks],
            "starts": [c.start_line for c in chunks],
            "ends": [c.end_line for c in chunks],
            "languages": [c.language for c in chunks],
            "tokens": [c.token_count for c in chunks],
            "contents": [c.text for c in chunks],
            "embeddings": [
                None if v is None else Vector(list(v)).to_text() for _, v in latest.values()
            ],
        }
        embedding = sql.SQL(_NEW_OR_KEPT).format(table=self.table)
        query = sql.SQL(_UPSERT).format(table=self.table, embedding=embedding)
        async with self.pool.connection() as conn:
            await conn.execute(query, params)

    async def delete_paths(self, tenant: str, repo: str, paths: Collection[str]) -> int:
        """Forget every chunk of these files (deleted or no longer indexed); rows removed."""
        return await self._delete(
            "tenant = %s AND repo = %s AND path = ANY(%s)", (tenant, repo, list(paths))
        )

    async def keep_blobs(
        self, tenant: str, repo: str, path: str, blob_shas: Collection[str]
    ) -> int:
        """Drop the chunks of ``path`` at any blob but these (older versions); rows removed."""
        return await self._delete(
            "tenant = %s AND repo = %s AND path = %s AND NOT blob_sha = ANY(%s)",
            (tenant, repo, path, list(blob_shas)),
        )

    async def fold_term_counts(self, tenant: str, repo: str) -> None:
        """Fold the repository's pending term deltas into its counts (spaces.fold_term_counts):
        searches read both, so this only keeps the deltas few."""
        async with self.pool.connection() as conn:  # autocommit: the VACUUM needs it
            await fold_term_counts(conn, self.space, tenant, repo)
            await vacuum_term_deltas(conn, self.space)

    async def counts(self, tenant: str, repo: str) -> RepoCounts:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                sql.SQL(
                    "SELECT count(DISTINCT path), count(*) FROM {} WHERE tenant = %s AND repo = %s"
                ).format(self.table),
                (tenant, repo),
            )
            files, chunks = await cur.fetchone() or (0, 0)
        return RepoCounts(files=files, chunks=chunks)

    async def indexed_blobs(self, tenant: str, repo: str) -> dict[str, frozenset[str]]:
        """path -> blob SHAs with chunks stored: what an incremental run can skip."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                sql.SQL(
                    "SELECT path, array_agg(DISTINCT blob_sha) FROM {} "
                    "WHERE tenant = %s AND repo = %s GROUP BY path"
                ).format(self.table),
                (tenant, repo),
            )
            return {path: frozenset(shas) for path, shas in await cur.fetchall()}

    async def _delete(self, where: str, params: tuple[Any, ...]) -> int:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                sql.SQL("DELETE FROM {} WHERE ").format(self.table) + sql.SQL(where),
                params,
            )
            return int(cur.rowcount)
