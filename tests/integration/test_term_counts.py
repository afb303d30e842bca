"""The kept document frequencies full-text rarity reads (spaces._term_counts), on real PostgreSQL.

Whatever writes the chunks (upserts, re-upserts with new text, prunes, a failed batch, a table
older than the counts), the counts with the deltas not folded yet (what a search reads) must
equal what counting the chunk table itself gives; and folding, however often and however many
at once, must leave the counts alone equal to it.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import psycopg
import pytest

from bdg_indexer.chunks import Chunk
from bdg_indexer.search.code_search import SearchMode, SearchTuning, search
from bdg_indexer.search.text_search import MAX_CANDIDATES_CAP
from bdg_indexer.storage.spaces import EmbeddingSpace, fold_term_counts
from bdg_indexer.storage.vectors import ChunkStore

pytestmark = pytest.mark.timeout(90)

SPACE = EmbeddingSpace("term-count-test-model", 4)
VECTOR = [1.0, 0.0, 0.0, 0.0]

Counts = dict[tuple[str, str, str], int]


def chunk(path: str, text: str, number: int = 0, blob: str = "b1") -> Chunk:
    return Chunk(path, blob, number, 1, 1 + text.count("\n"), "python", 10, text)


def names() -> tuple[str, str]:
    return f"tenant-{secrets.token_hex(4)}", f"repo-{secrets.token_hex(4)}"


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[ChunkStore]:
    opened = await ChunkStore.open(database_url, SPACE)
    yield opened
    await opened.close()


def kept(database_url: str) -> Counts:
    """What a search reads: the counts plus the deltas not folded into them yet."""
    with psycopg.connect(database_url) as conn:
        found = conn.execute(
            f"SELECT tenant, repo, lexeme, sum(df) FROM (SELECT tenant, repo, lexeme, df FROM "
            f"{SPACE.terms_table} UNION ALL SELECT d.tenant, d.repo, l.lexeme, d.sign FROM "
            f"{SPACE.term_deltas_table} d, unnest(d.tsv) l) x GROUP BY 1, 2, 3 HAVING sum(df) <> 0"
        )
        return {(t, r, lexeme): df for t, r, lexeme, df in found.fetchall()}


def folded(database_url: str) -> Counts:
    """The counts alone, with the number of deltas still pending as the key ("", "", "")."""
    with psycopg.connect(database_url) as conn:
        found = conn.execute(f"SELECT tenant, repo, lexeme, df FROM {SPACE.terms_table}")
        counts = {(t, r, lexeme): df for t, r, lexeme, df in found.fetchall()}
        row = conn.execute(f"SELECT count(*) FROM {SPACE.term_deltas_table}").fetchone()
    return counts | {("", "", ""): row[0] if row else -1}


def counted(database_url: str) -> Counts:
    """The truth: every chunk's lexemes, counted now."""
    with psycopg.connect(database_url) as conn:
        found = conn.execute(
            f"SELECT c.tenant, c.repo, l.lexeme, count(*) FROM {SPACE.table} c, unnest(c.tsv) l "
            "GROUP BY 1, 2, 3"
        )
        return {(t, r, lexeme): df for t, r, lexeme, df in found.fetchall()}


async def test_counts_follow_upserts_rewrites_and_prunes(
    store: ChunkStore, database_url: str
) -> None:
    tenant, repo = names()
    other_tenant, other_repo = names()
    first = [
        (chunk("a.py", "def parse_retry_after(header): return header"), VECTOR),
        (chunk("a.py", "retry the request", number=1), VECTOR),
        (chunk("b.py", "class Proxy: pass"), VECTOR),
    ]
    await store.upsert(tenant, repo, first)
    await store.upsert(tenant, repo, first)  # the same batch again changes nothing
    await store.upsert(other_tenant, repo, first[:1])
    await store.upsert(tenant, other_repo, first[2:])
    assert kept(database_url)[(tenant, repo, "retri")] == 2
    assert kept(database_url) == counted(database_url)

    # New text under the same key (an UPDATE through ON CONFLICT): old lexemes go, new come.
    await store.upsert(tenant, repo, [(chunk("b.py", "class Tunnel: pass"), VECTOR)])
    assert (tenant, repo, "proxi") not in kept(database_url)
    assert kept(database_url)[(tenant, repo, "tunnel")] == 1
    assert kept(database_url) == counted(database_url)

    # A new blob of a.py, then the old one pruned; then a deleted file.
    await store.upsert(tenant, repo, [(chunk("a.py", "retry once", blob="b2"), VECTOR)])
    assert kept(database_url)[(tenant, repo, "retri")] == 3
    await store.keep_blobs(tenant, repo, "a.py", ["b2"])
    assert kept(database_url)[(tenant, repo, "retri")] == 1
    await store.delete_paths(tenant, repo, ["a.py", "b.py"])
    assert not [key for key in kept(database_url) if key[:2] == (tenant, repo)]
    assert kept(database_url) == counted(database_url)
    # Others' counts were never touched by this repository's writes.
    assert kept(database_url)[(other_tenant, repo, "retri")] == 1
    assert kept(database_url)[(tenant, other_repo, "proxi")] == 1


async def test_a_failed_batch_leaves_the_counts_as_they_were(
    store: ChunkStore, database_url: str
) -> None:
    tenant, repo = names()
    await store.upsert(tenant, repo, [(chunk("a.py", "retry the request"), VECTOR)])
    before = kept(database_url)
    batch = [
        (chunk("b.py", "retry with backoff"), VECTOR),
        (chunk("a.py", "rewritten text"), VECTOR),
        (chunk("c.py", "a NUL \x00 PostgreSQL text refuses"), VECTOR),  # fails last
    ]
    with pytest.raises(psycopg.DataError):
        await store.upsert(tenant, repo, batch)
    assert kept(database_url) == before
    assert kept(database_url) == counted(database_url)


async def test_concurrent_writes_of_two_repositories_keep_both_counts(
    store: ChunkStore, database_url: str
) -> None:
    tenant = names()[0]
    texts = [f"retry request {n} proxy tunnel redirect" for n in range(40)]

    async def write(repo: str) -> None:
        for n, text in enumerate(texts):
            await store.upsert(tenant, repo, [(chunk(f"f{n}.py", text), VECTOR)])

    await asyncio.gather(write("one"), write("two"))
    assert kept(database_url)[(tenant, "one", "retri")] == 40
    assert kept(database_url)[(tenant, "two", "redirect")] == 40
    assert kept(database_url) == counted(database_url)


async def test_a_table_older_than_the_counts_is_counted_once_when_opened(
    database_url: str,
) -> None:
    space = EmbeddingSpace("term-count-upgrade-model", 4)
    tenant, repo = names()
    opened = await ChunkStore.open(database_url, space)
    try:
        await opened.upsert(tenant, repo, [(chunk("a.py", "retry the request"), VECTOR)])
    finally:
        await opened.close()
    # As a table made before the counts existed: no counts table, triggers or function.
    with psycopg.connect(database_url, autocommit=True) as conn:
        for suffix in ("ins", "upd", "del"):
            conn.execute(f"DROP TRIGGER {space.terms_table}_{suffix} ON {space.table}")
        conn.execute(f"DROP FUNCTION {space.terms_table}_count()")
        conn.execute(f"DROP TABLE {space.terms_table}, {space.term_deltas_table}")
        conn.execute(f"INSERT INTO {space.table} (tenant, repo, path, blob_sha, chunk_no, "
                     "start_line, end_line, language, token_count, content, embedding) "
                     f"VALUES ('{tenant}', '{repo}', 'b.py', 'b1', 0, 1, 1, 'python', 1, "
                     "'retry proxy', '[1,0,0,0]')")  # fmt: skip

    opened = await ChunkStore.open(database_url, space)
    try:
        with psycopg.connect(database_url) as conn:
            found = conn.execute(
                f"SELECT lexeme, df FROM {space.terms_table} WHERE tenant = %s AND repo = %s",
                (tenant, repo),
            )
            counts = dict(found.fetchall())
        # path words count too ("a" is an English stop word)
        assert counts == {"retri": 2, "request": 1, "proxi": 1, "b": 1, "py": 2}
        # ... and kept from then on, by the triggers the opening made.
        await opened.upsert(tenant, repo, [(chunk("c.py", "retry"), VECTOR)])
        hits = await search(opened, tenant, repo, "retry", None, mode=SearchMode.FULLTEXT)
        assert sorted(h.path for h in hits) == ["a.py", "b.py", "c.py"]
        await opened.fold_term_counts(tenant, repo)
    finally:
        await opened.close()
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            f"SELECT df FROM {space.terms_table} WHERE tenant = %s AND repo = %s "
            "AND lexeme = 'retri'",
            (tenant, repo),
        ).fetchone()
    assert row == (3,)


async def test_rarity_comes_from_the_counts_of_the_tenants_own_repository(
    store: ChunkStore, database_url: str
) -> None:
    # Here "proxy" is rare (1 chunk) and "tunnel" common (6); another tenant has the opposite
    # mix, in greater number. Counted over both, proxy would weigh less than tunnel and the
    # chunks saying "tunnel" three times would outrank the one saying "proxy" twice.
    tenant, repo = names()
    other = names()[0]
    mine = [(chunk(f"t{n}.py", "tunnel tunnel tunnel"), VECTOR) for n in range(6)]
    mine += [(chunk("p.py", "proxy proxy"), VECTOR)]
    await store.upsert(tenant, repo, mine)
    theirs = [(chunk(f"o{n}.py", "proxy"), VECTOR) for n in range(60)]
    await store.upsert(other, repo, [*theirs, (chunk("x.py", "tunnel"), VECTOR)])
    hits = await search(store, tenant, repo, "proxy tunnel", None, mode=SearchMode.FULLTEXT)
    # proxy weighs ln(1 + 6/1) = 1.95, tunnel ln(1 + 6/6) = 0.69: 2 x 1.95 > 3 x 0.69
    assert [h.path for h in hits] == ["p.py"] + [f"t{n}.py" for n in range(5)]
    assert kept(database_url) == counted(database_url)


async def test_the_full_text_side_ranks_at_most_text_candidates_chunks(store: ChunkStore) -> None:
    tenant, repo = names()
    await store.upsert(tenant, repo, [(chunk(f"f{n}.py", "alpha"), VECTOR) for n in range(5)])

    async def found(cap: int) -> int:
        tuning = SearchTuning(text_candidates=cap)
        hits = await search(
            store, tenant, repo, "alpha", None, mode=SearchMode.FULLTEXT, tuning=tuning
        )
        return len(hits)

    assert await found(2000) == 5
    assert await found(2) == 2
    for bad in (0, -1, MAX_CANDIDATES_CAP + 1):
        with pytest.raises(ValueError, match="max_candidates"):
            await found(bad)


async def test_a_phrase_selects_the_chunks_holding_its_words_and_ranks_the_phrase_first(
    store: ChunkStore,
) -> None:
    # "retry" and "policy" are in 6 chunks each; "retry_policy" itself in one, both words apart
    # in another. The phrase's df is bounded by its words' (6), so with room for 6 candidates
    # only the phrase selects them: the chunks holding both words, which the GIN index finds
    # without reading rows, ranked with the phrase matched (the identifier first).
    tenant, repo = names()
    rows = [chunk("together.py", "def retry_policy(): pass")]
    rows += [chunk("apart.py", "policy = 1\nretry = 2")]
    rows += [chunk(f"r{n}.py", "retry") for n in range(4)]
    rows += [chunk(f"p{n}.py", "policy") for n in range(4)]
    await store.upsert(tenant, repo, [(c, VECTOR) for c in rows])

    async def paths(cap: int) -> list[str]:
        hits = await search(
            store, tenant, repo, "retryPolicy", None, mode=SearchMode.FULLTEXT,
            tuning=SearchTuning(text_candidates=cap),
        )  # fmt: skip
        return [h.path for h in hits]

    assert await paths(6) == ["together.py", "apart.py"]
    # With room for every term, the single words bring the rest in, below both.
    found = await paths(2000)
    assert found[:2] == ["together.py", "apart.py"]
    assert len(found) == 6


async def test_folding_moves_the_deltas_into_the_counts_once_however_many_fold(
    store: ChunkStore, database_url: str
) -> None:
    tenant = names()[0]
    texts = [f"retry request {n} proxy tunnel redirect" for n in range(30)]

    async def write(repo: str) -> None:
        for n, text in enumerate(texts):
            await store.upsert(tenant, repo, [(chunk(f"f{n}.py", text), VECTOR)])
            if n % 3 == 0:  # folds while the other repository, and this one, keep writing
                await store.fold_term_counts(tenant, repo)
        await store.keep_blobs(tenant, repo, "f0.py", [])  # a prune's deltas too

    await asyncio.gather(write("one"), write("two"))
    assert kept(database_url) == counted(database_url)
    # Many folds of the same repositories at once: each delta counted exactly once.
    await asyncio.gather(
        *(store.fold_term_counts(tenant, repo) for repo in ("one", "two") for _ in range(4))
    )
    counts = folded(database_url)
    assert counts.pop(("", "", "")) == 0  # nothing pending any more
    assert counts == counted(database_url)
    assert counts[(tenant, "one", "retri")] == 29
    await store.fold_term_counts(tenant, "one")  # nothing to fold: nothing changes
    assert folded(database_url) == counts | {("", "", ""): 0}


async def test_a_fold_that_fails_leaves_the_deltas_to_the_next(
    store: ChunkStore, database_url: str
) -> None:
    tenant, repo = names()
    await store.upsert(tenant, repo, [(chunk("a.py", "retry the request"), VECTOR)])
    before = folded(database_url)

    async def fold_cut_off() -> None:
        async with store.pool.connection() as conn, conn.transaction():
            await fold_term_counts(conn, SPACE, tenant, repo)
            raise RuntimeError("cut off before the commit")

    with pytest.raises(RuntimeError, match="cut off"):
        await fold_cut_off()
    assert folded(database_url) == before
    await store.fold_term_counts(tenant, repo)
    counts = folded(database_url)
    assert counts.pop(("", "", "")) == 0
    assert counts == counted(database_url)


async def test_after_a_fold_the_planner_sees_the_deltas_left_not_those_folded(
    store: ChunkStore, database_url: str
) -> None:
    # A search reads the deltas per query term; the planner picks a scan by its estimate of
    # the deltas table, which a fold must bring down to what is left (spaces.vacuum_term_deltas).
    tenant, repo = names()
    rows = [(chunk(f"f{n}.py", f"retry request {n}"), VECTOR) for n in range(300)]
    await store.upsert(tenant, repo, rows)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"ANALYZE {SPACE.term_deltas_table}")
    await store.fold_term_counts(tenant, repo)
    with psycopg.connect(database_url) as conn:
        estimate = conn.execute(
            "SELECT reltuples FROM pg_class WHERE relname = %s", (SPACE.term_deltas_table,)
        ).fetchone()
        left = conn.execute(f"SELECT count(*) FROM {SPACE.term_deltas_table}").fetchone()
    assert estimate is not None
    assert left is not None
    assert max(estimate[0], 0) == left[0]
