"""Indexing throughput on a generated 1,000-file repository, and re-indexing after a push.

The repository (Python, JavaScript and Markdown files of realistic shapes: classes, functions,
docstrings, handlers, headings) is made in a temporary directory and indexed the way the indexer
service does it: a working copy cloned and checked out (bdg_indexer.mirror), then one run of
bdg_indexer.indexing.Pipeline into a fresh database. Then one file changes, is committed, and the
incremental run (fetch, checkout, diff, embed that file, prune) is timed.

Embedders (``--embedder``, comma-separated):
- ``offline``: all-MiniLM-L6-v2 on onnxruntime, the default of a fresh install (embedding-bound);
- ``fake``: the OpenAI API (1536 dims) as served by tests/fakes/openai_server.py in this process,
  over HTTP with the openai SDK: what the pipeline costs around a remote embedder that answers
  at once;
- ``hash``: vectors hashed from words, in-process: the pipeline alone (git, discovery, chunking,
  PostgreSQL with its HNSW index).
A run has two passes (bdg_indexer/indexing.py): every chunk stored without a vector, then the
vectors filled in. "searchable" is the time from the clone's start until the first pass is
through (full-text search finds every chunk), and its chunks/s the first pass's own rate;
"embedded" is the time until both are; the embedder's rate (its chunks over the time spent
awaiting it, in the same run) is the limit of the second pass. "not waiting on it" is the run's
time minus the clone and the time spent awaiting the embedder; a page's vectors are written
while the next is embedded, so with a slow embedder the writing is hidden.

    uv run python -m bench.index_throughput [--files 1000] [--embedder fake,hash,offline]
Without --url (or BDG_BENCH_DATABASE_URL) it starts an embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from openai import AsyncOpenAI

from bdg_indexer.discovery.globs import IndexFilter
from bdg_indexer.indexing import Pipeline
from bdg_indexer.mirror import Mirror
from bdg_indexer.sources import Target
from bdg_indexer.storage.spaces import EmbeddingSpace
from bdg_indexer.storage.status import Progress, StatusBoard
from bdg_indexer.storage.vectors import ChunkStore
from bdg_jobs.migrations import migrate
from bdg_llm.embeddings import Embedder, OfflineEmbedder, OpenAiEmbedder
from bdg_llm.prices import PriceTable
from bench.fresh_postgres import fresh_database
from bench.index_corpus import generate, modify
from tests.fakes.openai_server import FakeOpenAi, fake_embedding
from tests.git_repos import commit, git

AIM = "aim: re-index after a one-file push < 2 s"


class HashEmbedder:
    model_name = "bench-hash"
    dims = 384

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [fake_embedding(t, self.dims) for t in texts]


class Timed:
    """The embedder, with the time spent waiting on it added up."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.seconds, self.texts = inner, 0.0, 0
        self.model_name, self.dims = inner.model_name, inner.dims

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        started = time.perf_counter()
        try:
            return await self.inner.embed(texts)
        finally:
            self.seconds += time.perf_counter() - started
            self.texts += len(texts)


async def measure(name: str, embedder: Embedder, url: str, source: Path, work: Path) -> None:
    timed = Timed(embedder)
    store = await ChunkStore.open(url, EmbeddingSpace(timed.model_name, timed.dims))
    pipeline = Pipeline(store, StatusBoard(store.pool), timed, PriceTable(), batch=64)
    repo_id = uuid.uuid4()
    target = Target(repo_id, f"bench-{name}", f"file://{source}", IndexFilter())
    progress = Progress(repo_id, target.tenant, target.repo)
    mirror = Mirror(work / name, "bench", repo_id, str(source), timeout=600)
    generated = git(source, "rev-parse", "HEAD")
    try:
        started = time.perf_counter()
        await mirror.ensure()
        head = await mirror.fetch_ref("main")
        await mirror.checkout(head)
        cloned = time.perf_counter() - started
        outcome, progress = await pipeline.run(target, mirror.path, head, None, progress)
        total = time.perf_counter() - started
        rest = total - cloned - timed.seconds
        first = outcome.searchable_seconds
        print(
            f"{name:8} full index: {outcome.files} files, {outcome.chunks} chunks in {total:.1f} s"
            f" = {outcome.files / total:.0f} files/s, {outcome.chunks / total:.0f} chunks/s"
            f" (clone+checkout {cloned:.1f} s, embedding {timed.seconds:.1f} s"
            f" = {timed.texts / max(timed.seconds, 1e-9):.1f} chunks/s,"
            f" not waiting on it {rest:.1f} s = {outcome.chunks / max(rest, 1e-9):.0f} chunks/s)"
        )
        print(
            f"{name:8} searchable after {cloned + first:.1f} s (first pass {first:.1f} s"
            f" = {outcome.chunks / max(first, 1e-9):.0f} chunks/s), embedded after {total:.1f} s;"
            f" the embedder alone: {timed.texts / max(timed.seconds, 1e-9):.1f} chunks/s"
        )
        path, text = modify(source)
        after = commit(source, {path: text}, "one file changed")
        embedded_before, started = timed.seconds, time.perf_counter()
        await mirror.ensure_commit(after)
        await mirror.checkout(after)
        outcome, progress = await pipeline.run(target, mirror.path, after, head, progress)
        again = time.perf_counter() - started
        print(
            f"{name:8} one-file push: re-indexed in {again:.2f} s"
            f" ({outcome.embedded} chunks embedded in {timed.seconds - embedded_before:.2f} s,"
            f" {outcome.reused} reused)"
        )
    finally:
        git(source, "reset", "-q", "--hard", generated)  # the next embedder starts alike
        await store.close()


def embedders(names: list[str], fake: FakeOpenAi | None) -> dict[str, Embedder]:
    chosen: dict[str, Embedder] = {}
    for name in names:
        if name == "offline":
            chosen[name] = OfflineEmbedder()
        elif name == "hash":
            chosen[name] = HashEmbedder()
        elif name == "fake" and fake is not None:
            client = AsyncOpenAI(base_url=fake.base_url, api_key="bench", max_retries=0)
            chosen[name] = OpenAiEmbedder(client, batch_size=64, encoding_format="base64")
        else:
            raise SystemExit(f"unknown embedder {name!r}: choose offline, fake or hash")
    return chosen


async def main(args: argparse.Namespace) -> None:
    names = [n.strip() for n in args.embedder.split(",") if n.strip()]
    with (
        tempfile.TemporaryDirectory(prefix="bdg-bench-index-") as tmp,
        fresh_database(args.url) as url,
    ):
        source = Path(tmp) / "source"
        started = time.perf_counter()
        files = generate(source, args.files)
        git(source, "init", "-q", "-b", "main")
        commit(source, {}, "generated")
        size = sum(len(t) for t in files.values()) / 1e6
        made = time.perf_counter() - started
        print(f"repository: {len(files)} files, {size:.1f} MB (made in {made:.1f} s)")
        migrate(url)
        fake = FakeOpenAi().start() if "fake" in names else None
        try:
            for name, embedder in embedders(names, fake).items():
                await measure(name, embedder, url, source, Path(tmp))
        finally:
            if fake is not None:
                fake.stop()
    print(AIM)
    print("load average: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("BDG_BENCH_DATABASE_URL"))
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--embedder", default="hash,fake,offline")
    asyncio.run(main(parser.parse_args()))
