"""One indexing run (discover, chunk, store, prune, then embed) against real PostgreSQL with
pgvector and real git trees; a deterministic in-process embedder that can be told to fail."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bdg_indexer.chunking.chunker import chunk_file
from bdg_indexer.discovery.globs import IndexFilter
from bdg_indexer.discovery.worktree import discover
from bdg_indexer.indexing import Pipeline
from bdg_indexer.sources import Target
from bdg_indexer.storage.spaces import EmbeddingSpace
from bdg_indexer.storage.status import CHUNKING, EMBEDDING, Progress, StatusBoard
from bdg_indexer.storage.vectors import ChunkStore
from bdg_llm.api import LlmUnavailableError
from bdg_llm.prices import PriceTable
from tests.fakes.openai_server import fake_embedding
from tests.git_repos import commit, git, make_repo

pytestmark = pytest.mark.timeout(90)
SPACE = EmbeddingSpace("hash-test", 16)


class HashEmbedder:
    """Vectors hashed from words; ``fail_on`` makes that call (1-based) fail like an outage;
    ``seen`` keeps, per call, the status row at that moment."""

    model_name = SPACE.model_name
    dims = SPACE.dims

    def __init__(self, database_url: str, fail_on: int | None = None) -> None:
        self.url, self.fail_on = database_url, fail_on
        self.calls: list[list[str]] = []
        self.seen: list[tuple[Any, ...]] = []

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        async with await psycopg.AsyncConnection.connect(self.url) as conn:
            cur = await conn.execute("SELECT state, phase, done, total FROM bdg_index_status")
            self.seen += await cur.fetchall()
        if len(self.calls) == self.fail_on:
            raise LlmUnavailableError("the endpoint went away")
        return [fake_embedding(t, self.dims) for t in texts]


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[ChunkStore]:
    opened = await ChunkStore.open(database_url, SPACE)
    yield opened
    await opened.close()


def target(tree: Path) -> Target:
    return Target(uuid.uuid4(), f"t-{secrets.token_hex(3)}", f"file://{tree}", IndexFilter())


def pipeline(store: ChunkStore, embedder: HashEmbedder) -> Pipeline:
    return Pipeline(store, StatusBoard(store.pool), embedder, PriceTable(), batch=4)


def start(t: Target) -> Progress:
    return Progress(t.repo_id, t.tenant, t.repo)


def per_path(store_url: str, t: Target) -> dict[str, int]:
    with psycopg.connect(store_url) as conn:
        rows = conn.execute(
            f"SELECT path, count(*) FROM {SPACE.table} WHERE tenant = %s GROUP BY path",
            (t.tenant,),
        ).fetchall()
    return {path: count for path, count in rows}


def folded_counts_right(store_url: str, t: Target) -> bool:
    """The run folded its term deltas (none pending) and the counts equal a recount."""
    with psycopg.connect(store_url) as conn:
        pending = conn.execute(
            f"SELECT count(*) FROM {SPACE.term_deltas_table} WHERE tenant = %s", (t.tenant,)
        ).fetchone()
        kept = conn.execute(
            f"SELECT lexeme, df FROM {SPACE.terms_table} WHERE tenant = %s", (t.tenant,)
        ).fetchall()
        recounted = conn.execute(
            f"SELECT l.lexeme, count(*) FROM {SPACE.table} c, unnest(c.tsv) l "
            "WHERE c.tenant = %s GROUP BY 1",
            (t.tenant,),
        ).fetchall()
    return pending == (0,) and dict(kept) == dict(recounted)


def expected_chunks(tree: Path) -> dict[str, int]:
    return {f.path: len(chunk_file(f)) for f in discover(tree).files}


async def test_a_full_pass_then_an_incremental_one(
    store: ChunkStore, database_url: str, tmp_path: Path
) -> None:
    tree = tmp_path / "repo"
    files = {
        "a.py": "def a():\n    return 1\n",
        "b.py": "def b():\n    return 2\n",
        "c.md": "# C\n\nAbout c.\n",
        "d.js": "export const d = 4;\n",
    }
    make_repo(tree, files)
    (tree / "e.py").write_bytes(b"\0binary")
    first = commit(tree, {}, "a binary file")
    t = target(tree)
    embedder = HashEmbedder(database_url)
    outcome, progress = await pipeline(store, embedder).run(t, tree, first, None, start(t))
    assert (outcome.files, outcome.chunks, outcome.embedded, outcome.reused) == (4, 4, 4, 0)
    assert (outcome.skipped_files, outcome.removed_files, outcome.cost_usd) == (1, 0, 0.0)
    assert outcome.tokens > 0
    binary = {"path": "e.py", "reason": "binary: NUL byte in the first 8192 bytes"}
    assert progress.errors == [binary]
    assert (progress.state, progress.done, progress.total) == ("ready", 4, 4)
    assert progress.commit == first
    assert ("indexing", EMBEDDING, 0, 4) in embedder.seen  # written before the first batch
    assert folded_counts_right(database_url, t)

    (tree / "docs").mkdir()
    git(tree, "mv", "c.md", "docs/c.md")
    (tree / "b.py").write_bytes(b"\0now binary")
    second = commit(tree, {"a.py": "def a():\n    return 10\n", "d.js": None}, "changes")
    embedder = HashEmbedder(database_url)
    outcome, progress = await pipeline(store, embedder).run(t, tree, second, first, progress)
    assert per_path(database_url, t) == {"a.py": 1, "docs/c.md": 1}
    assert (outcome.embedded, outcome.reused, outcome.removed_files) == (2, 0, 3)
    assert [e["path"] for e in progress.errors] == ["b.py", "e.py"]  # e.py kept from before
    assert [len(c) for c in embedder.calls] == [2]
    assert folded_counts_right(database_url, t)  # the removals' deltas folded too

    # The index's commit unknown here (history rewritten): a full pass, nothing embedded again.
    embedder = HashEmbedder(database_url)
    outcome, _ = await pipeline(store, embedder).run(t, tree, second, "f" * 40, progress)
    assert (outcome.embedded, outcome.reused, outcome.chunks) == (0, 2, 2)
    assert embedder.calls == []


async def test_a_long_run_folds_its_term_deltas_as_it_goes(
    store: ChunkStore, database_url: str, tmp_path: Path
) -> None:
    tree = tmp_path / "repo"
    make_repo(tree, {f"m{n:02}.py": f"def f{n}():\n    return {n}\n" for n in range(24)})
    head = git(tree, "rev-parse", "HEAD")
    t = target(tree)
    # Each status write of the first pass (one per batch stored, after its fold if any) notes
    # the repository's pending deltas: a trigger, so the run itself is not touched.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE pending_seen (n bigint)")
        conn.execute(
            "CREATE FUNCTION note_pending() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"INSERT INTO pending_seen SELECT count(*) FROM {SPACE.term_deltas_table} "
            "WHERE tenant = NEW.tenant; RETURN NULL; END $$"
        )
        conn.execute(
            "CREATE TRIGGER note_pending AFTER INSERT OR UPDATE ON bdg_index_status "
            f"FOR EACH ROW WHEN (NEW.phase = '{CHUNKING}') EXECUTE FUNCTION note_pending()"
        )
    run = Pipeline(
        store, StatusBoard(store.pool), HashEmbedder(database_url), PriceTable(), batch=4,
        fold_every=8,
    )  # fmt: skip
    outcome, _ = await run.run(t, tree, head, None, start(t))
    assert outcome.chunks == 24
    with psycopg.connect(database_url) as conn:
        pending = [n for (n,) in conn.execute("SELECT n FROM pending_seen").fetchall()]
    # Folded every 8 chunks stored: 4 or 0 pending after each of the 6 batches (up to 24
    # without folding), none at the write before the first.
    assert pending == [0, 4, 0, 4, 0, 4, 0]
    assert folded_counts_right(database_url, t)


async def test_a_run_that_fails_while_embedding_is_finished_by_the_next(
    store: ChunkStore, database_url: str, tmp_path: Path
) -> None:
    tree = tmp_path / "repo"
    files = {f"m{n:02}.py": f"def f{n}():\n    return {n}\n" for n in range(10)}
    # A file of more chunks than a batch: stored whole or not at all.
    files["big.md"] = "\n\n".join(f"# Part {n}\n\n" + "some words here\n" * 150 for n in range(6))
    head = make_repo(tree, files)
    sizes = expected_chunks(tree)
    assert sizes["big.md"] > 4
    t = target(tree)
    failing = HashEmbedder(database_url, fail_on=4)
    with pytest.raises(LlmUnavailableError):
        await pipeline(store, failing).run(t, tree, head, None, start(t))
    assert per_path(database_url, t) == sizes  # the first pass was through: all searchable
    assert embedded_rows(database_url, t) == 12  # the 3 pages embedded before the failure
    embedder = HashEmbedder(database_url)
    outcome, _ = await pipeline(store, embedder).run(t, tree, head, None, start(t))
    assert per_path(database_url, t) == sizes
    assert embedded_rows(database_url, t) == sum(sizes.values())
    assert outcome.embedded == sum(sizes.values()) - 12
    assert outcome.reused == 12
    # Every chunk embedded once: the texts the two runs had embedded, the failed call aside.
    texts = [text for call in [*failing.calls[:3], *embedder.calls] for text in call]
    assert sorted(texts) == sorted(chunk_texts(database_url, t))
    assert set(failing.calls[3]) <= set(embedder.calls[0])  # the failed page, asked again
    with psycopg.connect(database_url) as conn:
        [(rows, keys)] = conn.execute(
            f"SELECT count(*), count(DISTINCT (path, blob_sha, chunk_no)) FROM {SPACE.table}"
        ).fetchall()
    assert rows == keys == sum(sizes.values())
    done = [row[2] for row in embedder.seen]
    assert done == sorted(done)  # progress only goes forward


def embedded_rows(store_url: str, t: Target) -> int:
    with psycopg.connect(store_url) as conn:
        row = conn.execute(
            f"SELECT count(*) FROM {SPACE.table} WHERE tenant = %s AND embedding IS NOT NULL",
            (t.tenant,),
        ).fetchone()
    return row[0] if row else -1


def chunk_texts(store_url: str, t: Target) -> list[str]:
    with psycopg.connect(store_url) as conn:
        rows = conn.execute(
            f"SELECT content FROM {SPACE.table} WHERE tenant = %s", (t.tenant,)
        ).fetchall()
    return [text for (text,) in rows]
