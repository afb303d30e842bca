"""The static embedding space for real: MiniLM's pinned ONNX model distilled into a per-token
table, texts embedded from it, stored in a real PostgreSQL with pgvector.

The whole table is cached across runs in ``~/.cache/bdg-tests/models`` (as BDG_HOME/models
would hold it; verified by its sha256 at every load): the first run distils it (about 40 s on
two idle cores, minutes on loaded ones), later runs load it in a second. The cache's own
behaviour (made once, a damaged file made again to the same bytes) is tested on a table of the
vocabulary's first ids, distilled the same way by the same code."""

from __future__ import annotations

import hashlib
import math
import os
import secrets
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bdg_indexer.chunks import Chunk
from bdg_indexer.search.code_search import SearchMode, search
from bdg_indexer.storage.spaces import EmbeddingSpace
from bdg_indexer.storage.vectors import ChunkStore
from bdg_llm.embeddings import OfflineEmbedder, model_session
from bdg_llm.static_embeddings import DIMS, StaticEmbedder, cached_table, distill, table_name

pytestmark = pytest.mark.timeout(300)

CORPUS = {
    "db.py": "def open_connection(dsn):\n    return psycopg.connect(dsn, autocommit=True)\n",
    "img.py": "def thumbnail(image, size):\n    return image.resize(size, Image.LANCZOS)\n",
    "mail.py": "def notify(user, body):\n    smtp.sendmail(FROM, user.email, body)\n",
    "retry.py": (
        "def with_retries(call, attempts=5):\n    for attempt in range(attempts):\n"
        "        try:\n            return call()\n        except TimeoutError:\n"
        "            sleep(2 ** attempt)\n"
    ),
    "csv_export.py": (
        "def export_rows(rows, path):\n    with open(path, 'w', newline='') as f:\n"
        "        csv.writer(f).writerows(rows)\n"
    ),
}
QUESTIONS = [
    ("connect to the postgres database", "db.py"),
    ("resize an image into a thumbnail", "img.py"),
    ("send an email to a user", "mail.py"),
    ("retry a call that times out", "retry.py"),
    ("write rows to a csv file", "csv_export.py"),
]


PART = 1000  # ids of the partial tables the cache tests distil


@pytest.fixture(scope="module")
def home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bdg-tests/models"


@pytest.fixture(scope="module")
def static(home: Path) -> StaticEmbedder:
    embedder = StaticEmbedder(home)
    embedder.embed_sync(["warm"])  # distils the table into ``home``
    return embedder


def digest_of(home: Path) -> tuple[bytes, str]:
    data = (home / table_name()).read_bytes()
    return data, (home / f"{table_name()}.sha256").read_text().strip()


def test_the_cache_holds_the_table_and_its_sha256(static: StaticEmbedder, home: Path) -> None:
    data, recorded = digest_of(home)
    assert hashlib.sha256(data).hexdigest() == recorded == static.table_sha256()
    started = time.perf_counter()
    again = StaticEmbedder(home)  # a second process: loads the verified cache, no model run
    assert again.table_sha256() == recorded
    assert time.perf_counter() - started < 10


def test_a_damaged_cache_is_distilled_again_to_the_same_bytes(
    static: StaticEmbedder, tmp_path: Path
) -> None:
    tokenizer, made = static.tokenizer(), []

    def make(threads: int) -> Any:
        made.append(threads)
        return distill(tokenizer, model_session(threads), vocab=PART)

    target = tmp_path / "part.npy"
    first = cached_table(target, lambda: make(2))
    assert first.shape == (PART, DIMS)
    assert made == [2]
    assert cached_table(target, lambda: make(1)).tobytes() == first.tobytes()
    assert made == [2]  # verified and loaded, not made again
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF
    target.write_bytes(bytes(data))
    # Made again, on another thread count, to the very same bytes: the distillation is
    # deterministic, so the recorded sha256 still holds.
    remade = cached_table(target, lambda: make(1))
    assert made == [2, 1]
    assert remade.tobytes() == first.tobytes()
    recorded = (tmp_path / "part.npy.sha256").read_text().strip()
    assert hashlib.sha256(target.read_bytes()).hexdigest() == recorded
    # A missing digest file counts as damaged too.
    (tmp_path / "part.npy.sha256").unlink()
    cached_table(target, lambda: make(2))
    assert made == [2, 1, 2]


def test_vectors_are_unit_length_with_the_space_s_dimensions(static: StaticEmbedder) -> None:
    vectors = static.embed_sync([*CORPUS.values(), "x", "résumé 東京 🚀"])
    for vector in vectors:
        assert len(vector) == DIMS
        assert math.isclose(math.fsum(x * x for x in vector), 1.0, rel_tol=1e-5)


def test_bad_input_gets_a_unit_vector(static: StaticEmbedder) -> None:
    empty, nul, blank, control = static.embed_sync(["", "\0\0\0", "   \n\t", "\x01\x02"])
    for vector in (empty, nul, blank, control):
        assert math.isclose(math.fsum(x * x for x in vector), 1.0, rel_tol=1e-5)
    assert empty == nul == blank == control  # no tokens: the distilled empty text
    code = static.embed_sync(["x = compute(y)\n"])[0]
    assert empty != code
    # NUL inside code is dropped by the tokenizer, not fatal
    assert static.embed_sync(["x = compute(\0y)\n"])[0] == pytest.approx(code, abs=1e-6)


def test_a_huge_text_is_read_whole(static: StaticEmbedder) -> None:
    line = "x = compute(y)\n"
    head = "def upload_to_bucket(client, key, payload):\n    client.put_object(key, payload)\n"
    huge = head + line * 150_000  # 2.2 MB, about a million tokens: no window cuts it
    [vector] = static.embed_sync([huge])  # in about 10 s on two loaded cores
    assert math.isclose(math.fsum(x * x for x in vector), 1.0, rel_tol=1e-5)
    # The mean of the whole text: the repeated line dominates, the head barely counts.
    [repeated], [first] = static.embed_sync([line * 3]), static.embed_sync([head])
    assert np.dot(vector, repeated) > 0.999 > np.dot(vector, first)


def test_similar_code_ranks_above_unrelated_code(static: StaticEmbedder) -> None:
    paths = list(CORPUS)
    corpus = np.asarray(static.embed_sync(list(CORPUS.values())))
    queries = np.asarray(static.embed_sync([q for q, _ in QUESTIONS]))
    for (question, expected), scores in zip(QUESTIONS, queries @ corpus.T, strict=True):
        ranked = dict(zip(paths, scores, strict=True))
        assert paths[int(np.argmax(scores))] == expected, (question, ranked)


async def test_the_space_is_kept_apart_from_minilm_s(
    static: StaticEmbedder, database_url: str
) -> None:
    minilm = EmbeddingSpace(OfflineEmbedder.model_name, OfflineEmbedder.dims)
    space = EmbeddingSpace(static.model_name, static.dims)
    # The same width as MiniLM's, so only the space keeps them apart: its own table.
    assert space.table != minilm.table
    assert space.dims == minilm.dims
    tenant, repo = f"tenant-{secrets.token_hex(4)}", f"repo-{secrets.token_hex(4)}"
    vectors = await static.embed(list(CORPUS.values()))
    stores = [await ChunkStore.open(database_url, s) for s in (space, minilm)]
    try:
        ours, theirs = stores
        chunks = [
            Chunk(path, "b1", 0, 1, text.count("\n"), "python", 10, text)
            for path, text in CORPUS.items()
        ]
        await ours.upsert(tenant, repo, list(zip(chunks, vectors, strict=True)))
        [query] = await static.embed(["send an email to a user"])
        hits = await search(ours, tenant, repo, "", query, mode=SearchMode.VECTOR)
        assert hits[0].path == "mail.py"
        # MiniLM's table holds none of it.
        assert await search(theirs, tenant, repo, "email", query, mode=SearchMode.FULLTEXT) == []
        assert await search(theirs, tenant, repo, "", query, mode=SearchMode.VECTOR) == []
        found = await search(ours, tenant, repo, "email", query, mode=SearchMode.FULLTEXT)
        assert [h.path for h in found] == ["mail.py"]
    finally:
        for opened in stores:
            await opened.close()
