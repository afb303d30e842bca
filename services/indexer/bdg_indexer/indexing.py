"""One indexing run over a checked-out commit: discover, chunk and store, prune, then embed.

Two passes, so a repository is searchable at chunking speed, not the embedder's: the first
stores every new chunk without a vector (full-text search finds it at once), the second
(backfill.py) embeds the repository's chunks still without one. Incremental when the index's
commit is known here: only files that changed since it are read, and of those only blobs
without stored chunks are chunked. Otherwise a full pass, which still skips every (path, blob)
already stored. A file's chunks are written in one transaction with the rest of its batch, and
a vector only where none is, so a run killed at any point is resumed by the next one without
duplicates and without embedding a stored chunk twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from bdg_indexer import domain, sources
from bdg_indexer.backfill import Backfill
from bdg_indexer.sources import Target
from bdg_indexer.storage.status import CHUNKING, Progress, StatusBoard
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
        self.backfill = Backfill(store, board, embedder, batch)

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
        progress = progress.to("indexing", CHUNKING, done=done, total=total)
        await self.board.write(progress)
        saver = _Saver(self, target, set(work.stale), progress, done)
        try:
            chunked = sources.chunked(work.embed, self.max_tokens, errors)
            async for batch in sources.prefetched(domain.batches(chunked, self.batch)):
                await saver.save(batch)
        finally:
            await saver.wait()  # a batch chunked is a batch kept, even when the next failed
        failed = [e["path"] for e in errors if e["path"] in {f.path for f in work.embed}]
        await self.store.delete_paths(target.tenant, target.repo, failed)  # no stale chunks
        # Once per pass, not per batch: the writes only appended their term deltas. Setting
        # vectors appends none (unembedded.py), so the second pass needs no fold.
        await self.store.fold_term_counts(target.tenant, target.repo)
        counts = await self.store.counts(target.tenant, target.repo)  # the second pass adds none
        searchable = self.clock() - started
        progress = progress.to("indexing", CHUNKING, files=counts.files, chunks=counts.chunks)
        filled, progress = await self.backfill.run(target, progress)
        embedded, tokens = filled.chunks, filled.tokens
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
            searchable_seconds=searchable,
        )
        final = progress.to(
            "ready", "", done=total, total=total, files=counts.files, chunks=counts.chunks,
            errors=listed,
        )  # fmt: skip
        return outcome, final


class _Saver:
    """Stores each chunked batch (one transaction, no vectors) while the next one is being
    cut: at most one batch in flight, in order; progress written as each is stored."""

    def __init__(
        self, pipeline: Pipeline, target: Target, stale: set[str], progress: Progress, done: int
    ) -> None:
        self.pipeline, self.target, self.stale = pipeline, target, stale
        self.progress, self.done = progress, done
        self._unfolded = 0  # chunks stored since the term deltas were last folded
        self._task: asyncio.Task[None] | None = None

    async def save(self, batch: list[domain.FileChunks]) -> None:
        await self.wait()
        self._task = asyncio.create_task(self._save(batch))

    async def wait(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await task

    async def _save(self, batch: list[domain.FileChunks]) -> None:
        store, tenant, repo = self.pipeline.store, self.target.tenant, self.target.repo
        items = [(chunk, None) for _, chunks in batch for chunk in chunks]
        if items:
            await store.upsert(tenant, repo, items)
        for source, _ in batch:
            if source.path in self.stale:  # its older blobs go once this one is stored
                await store.keep_blobs(tenant, repo, source.path, {source.blob_sha})
        self._unfolded += len(items)
        if self._unfolded >= self.pipeline.fold_every:  # searches read the deltas (FOLD_EVERY)
            await store.fold_term_counts(tenant, repo)
            self._unfolded = 0
        self.done += len(batch)
        await self.pipeline.board.write(self.progress.to("indexing", CHUNKING, done=self.done))
