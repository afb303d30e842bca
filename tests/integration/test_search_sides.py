"""Hybrid search runs its vector and full-text sides at once, on two pooled connections
(code_search.search), on real PostgreSQL: the answer must be the one the two sides give run in
turn on one connection and fused, and a pool smaller than the searches in flight must make them
wait their turn, never deadlock."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
from pgvector import Vector
from psycopg import sql

from bdg_indexer.chunks import Chunk
from bdg_indexer.search import text_search, vector_search
from bdg_indexer.search.code_search import (
    DEFAULT_MIN_SIMILARITY,
    SearchMode,
    SearchTuning,
    search,
)
from bdg_indexer.search.ranking import SearchHit, above_threshold, fuse, within_budget
from bdg_indexer.search.rows import COLUMNS, scope_of
from bdg_indexer.search.text_search import matching
from bdg_indexer.search.vector_search import nearest
from bdg_indexer.storage.spaces import TS_CONFIG, EmbeddingSpace
from bdg_indexer.storage.vectors import ChunkStore
from tests.fakes.openai_server import fake_embedding

pytestmark = pytest.mark.timeout(90)

SPACE = EmbeddingSpace("search-sides-test", 16)
WORDS = [
    *("retry", "backoff", "proxy", "tunnel", "redirect", "header", "cookie", "timeout"),
    *("stream", "decode", "encode", "transport", "client", "request", "response", "auth"),
    *("digest", "netrc", "certificate", "verify", "pool", "connection", "limit"),
]
QUESTIONS = [
    "how is a redirect followed with its auth header",
    "retry with backoff when the connection pool is full",
    "verify the certificate of a proxy tunnel",
    "decode a streamed response body",
    "netrc digest auth",
]


def corpus() -> list[Chunk]:
    """60 chunks mixing the words in different amounts, so both sides rank many of them."""
    chunks = []
    for n in range(60):
        words = [WORDS[(n * 7 + i * (n % 5 + 1)) % len(WORDS)] for i in range(3 + n % 6)]
        text = f"def f{n}_{words[0]}_{words[-1]}():\n    " + " ".join(words)
        chunks.append(Chunk(f"m{n % 9}/f{n}.py", "b" * 40, n, 1, 2, "python", 10 + n, text))
    return chunks


def names() -> tuple[str, str]:
    return f"tenant-{secrets.token_hex(4)}", f"repo-{secrets.token_hex(4)}"


async def filled(store: ChunkStore) -> tuple[str, str]:
    tenant, repo = names()
    await store.upsert(tenant, repo, [(c, fake_embedding(c.text, SPACE.dims)) for c in corpus()])
    await store.fold_term_counts(tenant, repo)
    return tenant, repo


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[ChunkStore]:
    opened = await ChunkStore.open(database_url, SPACE)
    yield opened
    await opened.close()


async def in_turn(store: ChunkStore, tenant: str, repo: str, question: str) -> list[SearchHit]:
    """What hybrid search answers, each side after the other on one connection."""
    tuning = SearchTuning()
    vector = Vector(fake_embedding(question, SPACE.dims))
    async with store.pool.connection() as conn:
        async with conn.transaction():
            found = await nearest(conn, store, tenant, repo, vector, 50, tuning.ef_search)
        text_hits = await matching(conn, store, tenant, repo, question, vector, 50)
    vector_hits = above_threshold(found, DEFAULT_MIN_SIMILARITY)
    fused = fuse(vector_hits, text_hits, tuning.rrf_k, tuning.vector_weight, tuning.text_weight)
    return within_budget(fused, None, 6)


async def hybrid(store: ChunkStore, tenant: str, repo: str, question: str) -> list[SearchHit]:
    return await search(
        store, tenant, repo, question, fake_embedding(question, SPACE.dims), mode=SearchMode.HYBRID
    )


async def test_hybrid_answers_what_its_two_sides_give_in_turn(store: ChunkStore) -> None:
    tenant, repo = await filled(store)
    for question in QUESTIONS:
        expected = await in_turn(store, tenant, repo, question)
        assert len(expected) == 6  # both sides matched: the comparison means something
        assert any(h.similarity is not None and h.text_rank is not None for h in expected)
        assert await hybrid(store, tenant, repo, question) == expected  # hits, order, scores


async def test_a_hybrid_search_asks_the_pool_for_two_connections_at_once(
    database_url: str,
) -> None:
    # With one connection, the side that asks second finds it busy with the first (which
    # awaits the server holding it): one queued request per search. Run in turn, each side
    # would find the connection idle and none would queue.
    opened = await ChunkStore.open(database_url, SPACE, max_size=1)
    try:
        tenant, repo = await filled(opened)
        opened.pool.pop_stats()  # from here on: the searches' requests only
        for question in QUESTIONS:
            await hybrid(opened, tenant, repo, question)
        stats = opened.pool.pop_stats()
        assert stats["requests_num"] == 2 * len(QUESTIONS)
        assert stats.get("requests_queued", 0) == len(QUESTIONS)
    finally:
        await opened.close()


@pytest.mark.parametrize("pool_size", [1, 2])
async def test_a_small_pool_serves_more_hybrid_searches_than_it_has_connections(
    database_url: str, pool_size: int
) -> None:
    # Each side holds one connection at a time and gives it back before the search waits for
    # the other side, so eight searches (sixteen sides) share one or two connections in turn.
    opened = await ChunkStore.open(database_url, SPACE, max_size=pool_size)
    try:
        tenant, repo = await filled(opened)
        alone = [await hybrid(opened, tenant, repo, q) for q in QUESTIONS]
        questions = QUESTIONS + QUESTIONS[:3]
        together = await asyncio.wait_for(
            asyncio.gather(*(hybrid(opened, tenant, repo, q) for q in questions)), timeout=30
        )
        assert together == alone + alone[:3]
        assert opened.pool.get_stats()["pool_size"] <= pool_size
    finally:
        await opened.close()


async def test_the_queries_composed_once_are_those_a_connection_composes(
    store: ChunkStore,
) -> None:
    # Both sides send queries composed once per space and shape (rows.query_bytes), without a
    # connection: they must be what composing them on a connection gives, one per shape.
    async with store.pool.connection() as conn:
        for in_repo in (True, False):
            parts = {"columns": COLUMNS, "table": store.table, "scope": scope_of(in_repo)}
            for template in (vector_search._NEAREST, vector_search._EXACT):
                expected = sql.SQL(template).format(**parts).as_bytes(conn)
                assert vector_search._query(template, SPACE, in_repo) == expected
            for with_similarity in (True, False):
                similarity = "1 - (c.embedding <=> %(vector)s)" if with_similarity else "NULL"
                expected = (
                    sql.SQL(text_search._MATCHING)
                    .format(
                        config=sql.Literal(TS_CONFIG),
                        table=store.table,
                        terms=sql.Identifier(SPACE.terms_table),
                        deltas=sql.Identifier(SPACE.term_deltas_table),
                        similarity=sql.SQL(similarity),
                        **{k: v for k, v in parts.items() if k != "table"},
                    )
                    .as_bytes(conn)
                )
                composed = text_search._matching_query(SPACE, in_repo, with_similarity)
                assert composed == expected
                assert (b"c.repo = %(repo)s" in composed) is in_repo
