"""An indexing run's two passes on real PostgreSQL: chunks stored without vectors are found by
their words at once, vectors follow; a run cut between the passes is finished by the next one,
each chunk embedded once; setting vectors leaves the full-text term counts alone."""

from __future__ import annotations

import collections
import secrets
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import psycopg
import pytest

from bdg_indexer.chunks import Chunk
from bdg_indexer.search.code_search import SearchMode, search
from bdg_indexer.search.ranking import SearchHit
from bdg_indexer.storage.spaces import EmbeddingSpace
from bdg_indexer.storage.status import EMBEDDING
from bdg_indexer.storage.vectors import ChunkStore
from bdg_llm.api import LlmUnavailableError
from tests.fakes.openai_server import fake_embedding
from tests.git_repos import git, make_repo
from tests.integration.test_indexer_pipeline import (
    SPACE,
    HashEmbedder,
    chunk_texts,
    embedded_rows,
    folded_counts_right,
    pipeline,
    start,
    target,
)

pytestmark = pytest.mark.timeout(90)
ZOO = 'def feed_the_zebra(hay):\n    """Give hay to the zebra at the zoo."""\n    return hay\n'


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[ChunkStore]:
    opened = await ChunkStore.open(database_url, SPACE)
    yield opened
    await opened.close()


def small_repo(tree: Path) -> str:
    files = {f"m{n:02}.py": f"def handler_{n}(event):\n    return {n}\n" for n in range(11)}
    return make_repo(tree, {**files, "zoo.py": ZOO})


def embedded_keys(database_url: str, tenant: str) -> set[tuple[str, int]]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            f"SELECT path, chunk_no FROM {SPACE.table} WHERE tenant = %s AND embedding IS NOT NULL",
            (tenant,),
        ).fetchall()
    return {(path, number) for path, number in rows}


async def test_between_the_passes_search_finds_chunks_by_their_words(
    store: ChunkStore, database_url: str, tmp_path: Path
) -> None:
    tree = tmp_path / "repo"
    head = small_repo(tree)
    t = target(tree)
    question = "feed hay to the zebra"
    vector = fake_embedding(question, SPACE.dims)
    seen: list[tuple[list[SearchHit], list[SearchHit], list[SearchHit], set[tuple[str, int]]]] = []

    class Searching(HashEmbedder):
        """Searches at each call of the second pass, as a user would meanwhile."""

        async def embed(self, texts: Sequence[str]) -> list[list[float]]:
            text, by_vector, hybrid = [
                await search(store, t.tenant, t.repo, question, vector, mode=mode, min_score=-1)
                for mode in (SearchMode.FULLTEXT, SearchMode.VECTOR, SearchMode.HYBRID)
            ]
            # read after the searches: a page written meanwhile only adds to it
            seen.append((text, by_vector, hybrid, embedded_keys(database_url, t.tenant)))
            return await super().embed(texts)

    embedder = Searching(database_url)
    outcome, _ = await pipeline(store, embedder).run(t, tree, head, None, start(t))
    assert (outcome.chunks, outcome.embedded) == (12, 12)
    assert len(seen) == 3  # pages of 4
    # Before the first vector: every chunk stored, the status saying so, full text finding it.
    text_hits, vector_hits, hybrid_hits, embedded = seen[0]
    assert embedded == set()
    assert embedder.seen[0] == ("indexing", EMBEDDING, 0, 12)
    assert text_hits[0].path == "zoo.py"
    assert text_hits[0].similarity is None  # no vector to compare yet
    assert vector_hits == []
    assert hybrid_hits[0].path == "zoo.py"
    # At the third page: the vector side answers from the chunks embedded, and only those.
    text_hits, vector_hits, hybrid_hits, embedded = seen[2]
    assert len(embedded) >= 4
    assert vector_hits
    assert {(h.path, h.chunk_no) for h in vector_hits} <= embedded
    assert hybrid_hits[0].path == "zoo.py"


async def test_a_run_cut_after_the_first_pass_is_finished_by_the_next(
    store: ChunkStore, database_url: str, tmp_path: Path
) -> None:
    tree = tmp_path / "repo"
    head = small_repo(tree)
    t = target(tree)
    failing = HashEmbedder(database_url, fail_on=1)
    with pytest.raises(LlmUnavailableError):
        await pipeline(store, failing).run(t, tree, head, None, start(t))
    assert embedded_rows(database_url, t) == 0
    hits = await search(store, t.tenant, t.repo, "zebra hay", None, mode=SearchMode.FULLTEXT)
    assert hits[0].path == "zoo.py"

    # The same commit again: no file to read, the chunks left without vectors embedded.
    embedder = HashEmbedder(database_url)
    outcome, final = await pipeline(store, embedder).run(t, tree, head, head, start(t))
    assert (outcome.files, outcome.chunks, outcome.embedded, outcome.reused) == (12, 12, 12, 0)
    assert outcome.tokens > 0
    assert final.state == "ready"
    texts = [text for call in embedder.calls for text in call]
    assert collections.Counter(texts) == collections.Counter(chunk_texts(database_url, t))
    assert embedded_rows(database_url, t) == 12
    again = HashEmbedder(database_url)
    outcome, _ = await pipeline(store, again).run(t, tree, head, None, start(t))
    assert (outcome.embedded, outcome.reused) == (0, 12)
    assert again.calls == []  # a stored vector is never asked for again


async def test_setting_the_vectors_leaves_the_term_counts_as_a_single_pass_makes_them(
    store: ChunkStore, database_url: str, tmp_path: Path
) -> None:
    tree = tmp_path / "repo"
    make_repo(tree, {f"m{n:02}.py": f"def retry_{n}(request):\n    return {n}\n" for n in range(9)})
    head = git(tree, "rev-parse", "HEAD")
    t = target(tree)
    pending: list[int] = []

    class Watching(HashEmbedder):
        async def embed(self, texts: Sequence[str]) -> list[list[float]]:
            with psycopg.connect(database_url) as conn:
                row = conn.execute(
                    f"SELECT count(*) FROM {SPACE.term_deltas_table} WHERE tenant = %s",
                    (t.tenant,),
                ).fetchone()
            pending.append(row[0] if row else -1)
            return await super().embed(texts)

    await pipeline(store, Watching(database_url)).run(t, tree, head, None, start(t))
    assert pending == [0, 0, 0]  # folded after the first pass; the UPDATEs appended nothing
    assert folded_counts_right(database_url, t)
    # The same chunks written with their vectors in one statement, for another tenant.
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            f"SELECT path, blob_sha, chunk_no, start_line, end_line, language, token_count, "
            f"content FROM {SPACE.table} WHERE tenant = %s",
            (t.tenant,),
        ).fetchall()
    single = f"t-{secrets.token_hex(3)}"
    items = [(Chunk(*row), fake_embedding(row[-1], SPACE.dims)) for row in rows]
    await store.upsert(single, t.repo, items)
    await store.fold_term_counts(single, t.repo)
    assert terms(database_url, t.tenant) == terms(database_url, single)


async def test_a_chunk_stored_again_without_a_vector_keeps_its_own(
    store: ChunkStore, database_url: str
) -> None:
    tenant, repo = f"t-{secrets.token_hex(3)}", "repo"
    same = Chunk("a.py", "b1", 0, 1, 1, "python", 3, "x = 1")
    vector = fake_embedding(same.text, SPACE.dims)
    await store.upsert(tenant, repo, [(same, vector)])
    await store.upsert(tenant, repo, [(same, None)])  # e.g. a first pass that got there late
    assert embedded_keys(database_url, tenant) == {("a.py", 0)}
    # New text under the same key: the old vector no longer describes it.
    await store.upsert(tenant, repo, [(Chunk("a.py", "b1", 0, 1, 1, "python", 3, "y"), None)])
    assert embedded_keys(database_url, tenant) == set()


async def test_a_table_made_when_vectors_were_required_takes_chunks_without(
    database_url: str,
) -> None:
    space = EmbeddingSpace("not-null-upgrade-model", 4)
    opened = await ChunkStore.open(database_url, space)
    await opened.close()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"ALTER TABLE {space.table} ALTER COLUMN embedding SET NOT NULL")
        conn.execute(f"DROP INDEX {space.table}_unembedded")
    opened = await ChunkStore.open(database_url, space)  # as at a start after the upgrade
    try:
        chunk = Chunk("a.py", "b1", 0, 1, 1, "python", 3, "retry the request")
        await opened.upsert("tenant", "repo", [(chunk, None)])
        hits = await search(opened, "tenant", "repo", "retry", None, mode=SearchMode.FULLTEXT)
        assert [h.path for h in hits] == ["a.py"]
    finally:
        await opened.close()
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{space.table}_unembedded",))
        assert row.fetchone() == (True,)


def terms(database_url: str, tenant: str) -> dict[str, int]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            f"SELECT lexeme, df FROM {SPACE.terms_table} WHERE tenant = %s", (tenant,)
        ).fetchall()
    return dict(rows)
