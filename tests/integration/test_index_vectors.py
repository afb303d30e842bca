"""The indexer's chunk tables and code search against a real PostgreSQL with pgvector.

Synthetic unit vectors where only the order matters; the offline MiniLM model where meaning
does. Each test gets a fresh database (``database_url``) and its own tenant and repo names.
"""

from __future__ import annotations

import asyncio
import math
import secrets
from collections.abc import AsyncIterator, Sequence
from typing import Any

import psycopg
import pytest

from bdg_indexer.chunks import Chunk
from bdg_indexer.search.code_search import DEFAULT_MIN_SIMILARITY, SearchMode, search
from bdg_indexer.search.fulltext import split_identifiers
from bdg_indexer.storage.spaces import REGISTRY, EmbeddingSpace, split_sql
from bdg_indexer.storage.vectors import ChunkStore, RepoCounts
from bdg_llm.embeddings import OfflineEmbedder

pytestmark = pytest.mark.timeout(90)

DIMS = 8
SPACE = EmbeddingSpace("synthetic-test-model", DIMS)


def unit(*weights: float) -> list[float]:
    """A unit vector from its first components (the rest zero)."""
    padded = [*weights, *[0.0] * (DIMS - len(weights))]
    norm = math.sqrt(sum(x * x for x in padded))
    return [x / norm for x in padded]


def at_angle(cosine: float) -> list[float]:
    """A unit vector at the given cosine similarity to unit(1)."""
    return unit(cosine, math.sqrt(1 - cosine * cosine))


def chunk(
    path: str, text: str, number: int = 0, blob: str = "b1", tokens: int = 10, lang: str = "python"
) -> Chunk:
    lines = text.count("\n") + 1
    start = 1 + number * 100
    return Chunk(path, blob, number, start, start + lines - 1, lang, tokens, text)


def names() -> tuple[str, str]:
    return f"tenant-{secrets.token_hex(4)}", f"repo-{secrets.token_hex(4)}"


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[ChunkStore]:
    opened = await ChunkStore.open(database_url, SPACE)
    yield opened
    await opened.close()


def rows(database_url: str, space: EmbeddingSpace = SPACE) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            f"SELECT tenant, repo, path, blob_sha, chunk_no, content, id, updated_at "
            f"FROM {space.table} ORDER BY id"
        ).fetchall()


def paths(hits: Sequence[Any]) -> list[str]:
    return [h.path for h in hits]


async def test_the_same_batch_twice_leaves_the_same_rows(
    store: ChunkStore, database_url: str
) -> None:
    tenant, repo = names()
    batch = [(chunk("a.py", "x = 1", n), unit(1, n)) for n in range(3)]
    await store.upsert(tenant, repo, batch)
    first = rows(database_url)
    await store.upsert(tenant, repo, batch)  # a re-run after a crash
    assert rows(database_url) == first  # same ids, not even rewritten (same updated_at)
    assert await store.counts(tenant, repo) == RepoCounts(files=1, chunks=3)

    await store.upsert(tenant, repo, [(chunk("a.py", "x = 2", 1), unit(1, 1))])
    assert [r[5] for r in rows(database_url)] == ["x = 1", "x = 2", "x = 1"]


async def test_a_batch_naming_a_chunk_twice_keeps_the_last(
    store: ChunkStore, database_url: str
) -> None:
    tenant, repo = names()
    batch = [(chunk("a.py", "x = 1"), unit(1)), (chunk("a.py", "x = 2"), unit(0, 1))]
    await store.upsert(tenant, repo, batch)
    assert [r[5] for r in rows(database_url) if r[0] == tenant] == ["x = 2"]
    hits = await search(store, tenant, repo, "", unit(0, 1), mode=SearchMode.VECTOR, min_score=0)
    assert [round(h.similarity or 0, 4) for h in hits] == [1.0]  # the last vector too
    await store.upsert(tenant, repo, [])  # nothing to write: no statement, no error
    assert await store.counts(tenant, repo) == RepoCounts(files=1, chunks=1)


async def test_a_new_blob_replaces_the_old_one_once_pruned(store: ChunkStore) -> None:
    tenant, repo = names()
    old = [(chunk("a.py", f"old {n}", n, blob="old"), unit(1)) for n in range(2)]
    await store.upsert(tenant, repo, old)
    await store.upsert(tenant, repo, [(chunk("a.py", "new", 0, blob="new"), unit(1))])
    assert await store.indexed_blobs(tenant, repo) == {"a.py": frozenset({"old", "new"})}

    assert await store.keep_blobs(tenant, repo, "a.py", ["new"]) == 2
    assert await store.indexed_blobs(tenant, repo) == {"a.py": frozenset({"new"})}
    hits = await search(store, tenant, repo, "old new", unit(1), min_score=0)
    assert [(h.blob_sha, h.snippet) for h in hits] == [("new", "new")]


async def test_deleted_paths_lose_all_their_chunks(store: ChunkStore) -> None:
    tenant, repo = names()
    items = [(chunk(p, f"{p} {n}", n), unit(1)) for p in ("a.py", "b.py", "c.py") for n in (0, 1)]
    await store.upsert(tenant, repo, items)
    assert await store.delete_paths(tenant, repo, ["a.py", "c.py", "missing.py"]) == 4
    assert await store.counts(tenant, repo) == RepoCounts(files=1, chunks=2)


async def test_vector_search_orders_by_cosine_similarity(store: ChunkStore) -> None:
    tenant, repo = names()
    cosines = {"far.py": 0.3, "near.py": 0.95, "mid.py": 0.7}
    await store.upsert(tenant, repo, [(chunk(p, p), at_angle(c)) for p, c in cosines.items()])
    hits = await search(store, tenant, repo, "", unit(1), mode=SearchMode.VECTOR, min_score=0)
    assert paths(hits) == ["near.py", "mid.py", "far.py"]
    assert [round(h.similarity or 0, 4) for h in hits] == [0.95, 0.7, 0.3]
    assert [h.score for h in hits] == [h.similarity for h in hits]


def test_the_index_splits_identifiers_as_the_query_does(database_url: str) -> None:
    samples = ["self._pool.handleRequest(x)", "HTTPTransport parseURL2 XMLHttpRequest", "a-b/c.d"]
    with psycopg.connect(database_url) as conn:
        for text in samples:
            row = conn.execute(f"SELECT {split_sql('%s::text')}", (text,)).fetchone()
            assert row is not None
            assert row[0].lower().split() == split_identifiers(text)


async def test_fulltext_finds_an_identifier_however_it_is_written(store: ChunkStore) -> None:
    tenant, repo = names()
    texts = {
        "retry.py": "def parse_retry_after(header):\n    return int(header)",
        "client.ts": "export function sendRequest(url) { return fetch(url) }",
        "other.py": "def unrelated():\n    pass",
    }
    await store.upsert(tenant, repo, [(chunk(p, t), unit(1)) for p, t in texts.items()])

    async def found(question: str) -> list[str]:
        hits = await search(store, tenant, repo, question, None, mode=SearchMode.FULLTEXT)
        return paths(hits)

    assert (await found("parseRetryAfter"))[0] == "retry.py"
    assert (await found("where do we parse the Retry-After header?"))[0] == "retry.py"
    assert (await found("send_request"))[0] == "client.ts"
    assert (await found("how are requests sent"))[0] == "client.ts"  # stems meet
    assert await found("the and of") == []  # only stop words: no query, no hits


async def test_hybrid_puts_the_chunk_both_sides_agree_on_first(store: ChunkStore) -> None:
    tenant, repo = names()
    items = [
        # best by vector only; no word of the question
        (chunk("vector_only.py", "def unrelated(): pass"), at_angle(0.99)),
        # second on both sides
        (chunk("both.py", "def rotate_token(): pass"), at_angle(0.9)),
        # best by words (the identifier twice), too far by vector to pass the threshold
        (chunk("text_only.py", "rotate_token(); rotate_token()"), at_angle(0.05)),
    ]
    await store.upsert(tenant, repo, items)
    question = "rotate token"
    by_vector = await search(store, tenant, repo, question, unit(1), mode=SearchMode.VECTOR)
    by_text = await search(store, tenant, repo, question, unit(1), mode=SearchMode.FULLTEXT)
    assert paths(by_vector) == ["vector_only.py", "both.py"]
    assert paths(by_text) == ["text_only.py", "both.py"]

    hybrid = await search(store, tenant, repo, question, unit(1))
    assert paths(hybrid)[0] == "both.py"
    assert set(paths(hybrid)) == {"both.py", "vector_only.py", "text_only.py"}
    top = hybrid[0]
    assert top.similarity is not None
    assert top.text_rank is not None
    assert top.score == pytest.approx(1 / 12 + 1.5 / 12)  # k=10, the text list weighs 1.5


async def test_the_threshold_drops_weak_vector_hits(store: ChunkStore) -> None:
    tenant, repo = names()
    await store.upsert(
        tenant, repo, [(chunk(f"{c}.py", "x"), at_angle(c)) for c in (0.9, 0.4, 0.1)]
    )
    vector = SearchMode.VECTOR
    assert paths(await search(store, tenant, repo, "", unit(1), mode=vector)) == [
        "0.9.py",
        "0.4.py",
    ]  # the default, 0.2
    assert paths(await search(store, tenant, repo, "", unit(1), mode=vector, min_score=0.5)) == [
        "0.9.py"
    ]
    assert DEFAULT_MIN_SIMILARITY == 0.2


async def test_the_token_budget_passes_over_what_no_longer_fits(store: ChunkStore) -> None:
    tenant, repo = names()
    sizes = {"a.py": (0.9, 800), "b.py": (0.8, 900), "c.py": (0.7, 400), "d.py": (0.6, 10)}
    await store.upsert(
        tenant, repo, [(chunk(p, p, tokens=t), at_angle(c)) for p, (c, t) in sizes.items()]
    )
    hits = await search(store, tenant, repo, "", unit(1), mode=SearchMode.VECTOR, token_budget=2000)
    assert paths(hits) == ["a.py", "b.py", "d.py"]  # c.py would make 2100
    everything = await search(
        store, tenant, repo, "", unit(1), mode=SearchMode.VECTOR, token_budget=10_000, limit=3
    )
    assert paths(everything) == ["a.py", "b.py", "c.py"]
    small = await search(store, tenant, repo, "", unit(1), mode=SearchMode.VECTOR, token_budget=500)
    assert paths(small) == ["c.py", "d.py"]


@pytest.mark.parametrize("mode", list(SearchMode))
async def test_limit_is_the_number_of_hits_when_enough_match(
    store: ChunkStore, mode: SearchMode
) -> None:
    # Eight chunks of 500 tokens that all match: a 2,000-token budget used to stop at four.
    tenant, repo = names()
    items = [
        (chunk(f"f{n}.py", f"def retry_{n}(): pass  # retry backoff", tokens=500), at_angle(0.9))
        for n in range(8)
    ]
    await store.upsert(tenant, repo, items)
    hits = await search(store, tenant, repo, "retry backoff", unit(1), mode=mode, limit=6)
    assert len(hits) == 6
    budgeted = await search(
        store, tenant, repo, "retry backoff", unit(1), mode=mode, limit=6, token_budget=2000
    )
    assert len(budgeted) == 4


async def test_a_tenant_never_sees_another_tenants_chunks(store: ChunkStore) -> None:
    mine, theirs = f"t-{secrets.token_hex(4)}", f"t-{secrets.token_hex(4)}"
    repo = "shared-name"
    same = [(chunk("secret.py", "API_TOKEN = 'rotate me'"), unit(1))]
    await store.upsert(mine, repo, same)
    await store.upsert(theirs, repo, same)  # identical repo, path, blob, content, vector
    await store.upsert(theirs, "only-theirs", same)

    async def visible(tenant: str) -> list[list[tuple[str, str]]]:
        found = []
        for mode in SearchMode:
            for scope in (repo, None):
                hits = await search(store, tenant, scope, "API token", unit(1), mode=mode)
                found.append([(h.repo, h.path) for h in hits])
        return found

    assert await visible(mine) == [[(repo, "secret.py")]] * 6  # one copy, never theirs
    assert await store.delete_paths(mine, repo, ["secret.py"]) == 1
    assert await visible(mine) == [[]] * 6
    assert await store.counts(mine, repo) == RepoCounts(0, 0)
    assert await store.counts(theirs, repo) == RepoCounts(1, 1)  # my delete left theirs alone
    assert len([h for hits in await visible(theirs) for h in hits]) == 2 * 3 + 1 * 3
    with pytest.raises(ValueError, match="tenant"):
        await search(store, "", None, "API token", unit(1))


async def test_two_embedding_spaces_live_side_by_side(database_url: str) -> None:
    small, large = EmbeddingSpace("model/a", 8), EmbeddingSpace("model-b:v2", 16)
    # Both at once: the advisory lock keeps the concurrent DDL from colliding.
    stores = await asyncio.gather(*(ChunkStore.open(database_url, s) for s in (small, large)))
    try:
        tenant, repo = names()
        await stores[0].upsert(tenant, repo, [(chunk("a.py", "a"), unit(1))])
        await stores[1].upsert(tenant, repo, [(chunk("b.py", "b"), [1.0] + [0.0] * 15)])
        with pytest.raises(ValueError, match="8-dimension"):
            await stores[0].upsert(tenant, repo, [(chunk("c.py", "c"), [1.0] * 16)])
        assert paths(await search(stores[0], tenant, repo, "a", unit(1))) == ["a.py"]
        assert paths(await search(stores[1], tenant, repo, "b", [1.0] + [0.0] * 15)) == ["b.py"]
        assert small.table != large.table
        with psycopg.connect(database_url) as conn:
            registered = conn.execute(
                f"SELECT model_name, dims, table_name FROM {REGISTRY} ORDER BY dims"
            ).fetchall()
        assert registered == [("model/a", 8, small.table), ("model-b:v2", 16, large.table)]
    finally:
        for opened in stores:
            await opened.close()
    reopened = await ChunkStore.open(database_url, small)  # idempotent on an existing schema
    await reopened.close()


async def test_real_embeddings_find_code_by_meaning(database_url: str) -> None:
    embedder = OfflineEmbedder()
    space = EmbeddingSpace(embedder.model_name, embedder.dims)
    texts = {
        "db.py": "def open_connection(dsn):\n    return psycopg.connect(dsn, autocommit=True)",
        "img.py": "def thumbnail(image, size):\n    return image.resize(size, Image.LANCZOS)",
        "mail.py": "def notify(user, body):\n    smtp.sendmail(FROM, user.email, body)",
    }
    vectors = await embedder.embed(list(texts.values()))
    opened = await ChunkStore.open(database_url, space)
    try:
        tenant, repo = names()
        pairs = zip(texts.items(), vectors, strict=True)
        await opened.upsert(tenant, repo, [(chunk(p, t), v) for (p, t), v in pairs])
        for question, expected in [
            ("connect to the postgres database", "db.py"),
            ("shrink a picture", "img.py"),
            ("send an email to a user", "mail.py"),
        ]:
            [query] = await embedder.embed([question])
            hits = await search(opened, tenant, repo, question, query, mode=SearchMode.VECTOR)
            assert hits[0].path == expected, (question, paths(hits))
            assert (hits[0].similarity or 0) > DEFAULT_MIN_SIMILARITY
            hybrid = await search(opened, tenant, repo, question, query)
            assert hybrid[0].path == expected
    finally:
        await opened.close()


async def test_a_smaller_tenant_beside_a_big_one_still_gets_its_nearest(
    store: ChunkStore, database_url: str
) -> None:
    big, smaller = names()[0], names()[0]
    repo = "r"
    # The big tenant's chunks all sit nearer the query than the smaller tenant's, and the
    # smaller one is big enough for the planner to choose the HNSW index: its candidate list
    # fills with the big tenant's chunks before the tenant filter (pgvector < 0.8 stops there).
    crowd = [(chunk(f"big{n}.py", "x"), at_angle(0.99 - n / 100_000)) for n in range(5000)]
    await store.upsert(big, repo, crowd)
    mine = [(chunk(f"s{n:04}.py", "x"), at_angle(0.5 - n / 100_000)) for n in range(1000)]
    await store.upsert(smaller, repo, mine)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"ANALYZE {SPACE.table}")
    for scope in (repo, None):
        hits = await search(store, smaller, scope, "", unit(1), mode=SearchMode.VECTOR, min_score=0)
        assert paths(hits) == [f"s{n:04}.py" for n in range(6)]
