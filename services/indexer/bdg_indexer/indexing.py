"""One indexing run over a checked-out commit: discover, chunk, embed, store, prune.

Incremental when the index's commit is known here: only files that changed since it are read,
and of those only blobs without stored chunks are embedded. Otherwise a full pass, which still
skips every (path, blob) already stored. A file's chunks are written in one transaction with
the rest of its batch, so a run killed at any point is resumed by the next one without
duplicates and without embedding a stored blob again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from bdg_indexer import domain, sources
from bdg_indexer.chunks import Chunk
from bdg_indexer.sources import Target
from bdg_indexer.storage.status import Progress, StatusBoard
from bdg_indexer.storage.vectors import ChunkStore
from bdg_llm.embeddings import Embedder
from bdg_llm.prices import PriceTable

# Chunks stored between two folds of the term deltas within a run (it ends with one too): a
# search of the repository meanwhile reads its unfolded deltas, one tsvector match per delta
# and query term (1,000 deltas added ~10 ms to a full-text search at load average 11 on the
# 2-core dev machine), so they stay few; a fold of 3,200 chunks' deltas took ~0.3 s.
FOLD_EVERY = 512


class Pipeline:
    def __init__(
        self,
        store: ChunkStore,
        board: StatusBoard,
        embedder: Embedder,
        prices: PriceTable,
        batch: int = 64,
        max_tokens: int = 512,
        clock: Callable[[], float] = time.monotonic,
        fold_every: int = FOLD_EVERY,
    ) -> None:
        self.store, self.board, self.embedder, self.prices = store, board, embedder, prices
        self.batch, self.max_tokens, self.clock = batch, max_tokens, clock
        self.fold_every = fold_every
        self.space = domain.space_name(embedder.model_name, embedder.dims)

    async def run(
        self, target: Target, tree: Path, commit: str, base: str | None, progress: Progress
    ) -> tuple[domain.Outcome, Progress]:
        """Index ``tree`` (checked out at ``commit``); ``base``: the commit the index is at."""
        started = self.clock()
        progress = progress.to("indexing", "discovering", commit=commit, done=0, total=0)
        await self.board.write(progress)
        stored = await self.store.indexed_blobs(target.tenant, target.repo)
        scope = await asyncio.to_thread(sources.scope, target, tree, commit, base, stored)
        work = domain.plan(scope.found.files, stored)
        removed = [p for p in scope.remove if p in stored]
        await self.store.delete_paths(target.tenant, target.repo, scope.remove)
        for path in set(work.stale) - {f.path for f in work.embed}:  # reused, old blobs left
            keep = {f.blob_sha for f in work.reuse if f.path == path}
            await self.store.keep_blobs(target.tenant, target.repo, path, keep)
        errors = [
            domain.error_entry(s.path, f"{s.reason.value}: {s.detail}") for s in scope.found.skipped
        ]
        done, total = len(work.reuse), len(scope.found.files)
        progress = progress.to("indexing", "embedding", done=done, total=total)
        await self.board.write(progress)
        saver = _Saver(self, target, set(work.stale), progress, done)
        try:
            chunked = sources.chunked(work.embed, self.max_tokens, errors)
            async for batch in sources.prefetched(domain.batches(chunked, self.batch)):
                chunks = [c for _, file_chunks in batch for c in file_chunks]
                vectors: list[list[float]] = []
                for start in range(0, len(chunks), self.batch):
                    texts = [c.text for c in chunks[start : start + self.batch]]
                    vectors += await self.embedder.embed(texts)
                await saver.save(batch, list(zip(chunks, vectors, strict=True)))
        finally:
            await saver.wait()  # a batch embedded is a batch kept, even when the next failed
        embedded, tokens = saver.embedded, saver.tokens
        failed = [e["path"] for e in errors if e["path"] in {f.path for f in work.embed}]
        await self.store.delete_paths(target.tenant, target.repo, failed)  # no stale chunks
        # Once per run, not per batch: the writes only appended their term deltas.
        await self.store.fold_term_counts(target.tenant, target.repo)
        counts = await self.store.counts(target.tenant, target.repo)
        if scope.touched is None:
            listed = sorted(errors, key=lambda e: e["path"])[: domain.MAX_STATUS_ERRORS]
        else:
            listed = domain.merge_errors(progress.errors, scope.touched, errors)
        outcome = domain.Outcome(
            commit=commit,
            files=counts.files,
            chunks=counts.chunks,
            embedded=embedded,
            reused=max(counts.chunks - embedded, 0),
            removed_files=len(removed),
            skipped_files=len(errors),
            tokens=tokens,
            cost_usd=self.prices.cost(self.embedder.model_name, tokens, 0),
            seconds=self.clock() - started,
        )
        final = progress.to(
            "ready", "", done=total, files=counts.files, chunks=counts.chunks, errors=listed
        )
        return outcome, final


class _Saver:
    """Stores each embedded batch (one transaction) while the next one is being embedded: at
    most one batch in flight, in order; progress written as each is stored."""

    def __init__(
        self, pipeline: Pipeline, target: Target, stale: set[str], progress: Progress, done: int
    ) -> None:
        self.pipeline, self.target, self.stale = pipeline, target, stale
        self.progress, self.done = progress, done
        self.embedded = self.tokens = 0
        self._unfolded = 0  # chunks stored since the term deltas were last folded
        self._task: asyncio.Task[None] | None = None

    async def save(
        self, batch: list[domain.FileChunks], items: list[tuple[Chunk, list[float]]]
    ) -> None:
        await self.wait()
        self._task = asyncio.create_task(self._save(batch, items))

    async def wait(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await task

    async def _save(
        self, batch: list[domain.FileChunks], items: list[tuple[Chunk, list[float]]]
    ) -> None:
        store, tenant, repo = self.pipeline.store, self.target.tenant, self.target.repo
        if items:
            await store.upsert(tenant, repo, items)
        for source, _ in batch:
            if source.path in self.stale:  # its older blobs go once this one is stored
                await store.keep_blobs(tenant, repo, source.path, {source.blob_sha})
        self.embedded += len(items)
        self.tokens += sum(chunk.token_count for chunk, _ in items)
        self._unfolded += len(items)
        if self._unfolded >= self.pipeline.fold_every:  # searches read the deltas (FOLD_EVERY)
            await store.fold_term_counts(tenant, repo)
            self._unfolded = 0
        self.done += len(batch)
        await self.pipeline.board.write(self.progress.to("indexing", "embedding", done=self.done))
