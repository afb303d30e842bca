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
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from bdg_indexer import domain
from bdg_indexer.chunking import chunk_file
from bdg_indexer.chunks import Chunk, SourceFile
from bdg_indexer.discovery import (
    Discovery,
    IndexFilter,
    UnknownCommitError,
    changed_files,
    discover,
)
from bdg_indexer.status import Progress, StatusBoard
from bdg_indexer.vectors import ChunkStore
from bdg_llm.embeddings import Embedder
from bdg_llm.prices import PriceTable


@dataclass(frozen=True)
class Target:
    repo_id: UUID
    tenant: str
    repo: str  # the normalized URL: the chunk table's ``repo`` column
    index_filter: IndexFilter


@dataclass(frozen=True)
class Scope:
    """The files this run looks at, and the paths whose chunks go."""

    found: Discovery
    remove: tuple[str, ...]
    touched: tuple[str, ...] | None  # paths an incremental run looked at; None: a full pass


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
    ) -> None:
        self.store, self.board, self.embedder, self.prices = store, board, embedder, prices
        self.batch, self.max_tokens, self.clock = batch, max_tokens, clock
        self.space = domain.space_name(embedder.model_name, embedder.dims)

    async def run(
        self, target: Target, tree: Path, commit: str, base: str | None, progress: Progress
    ) -> tuple[domain.Outcome, Progress]:
        """Index ``tree`` (checked out at ``commit``); ``base``: the commit the index is at."""
        started = self.clock()
        progress = progress.to("indexing", "discovering", commit=commit, done=0, total=0)
        await self.board.write(progress)
        stored = await self.store.indexed_blobs(target.tenant, target.repo)
        scope = await asyncio.to_thread(_scope, target, tree, commit, base, stored)
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
        embedded = tokens = 0
        chunked = _chunked(work.embed, self.max_tokens, errors)
        async for batch in _prefetched(domain.batches(chunked, self.batch)):
            await self._store(target, batch, stale=set(work.stale))
            embedded += sum(len(chunks) for _, chunks in batch)
            tokens += sum(c.token_count for _, chunks in batch for c in chunks)
            done += len(batch)
            await self.board.write(progress.to("indexing", "embedding", done=done))
        failed = [e["path"] for e in errors if e["path"] in {f.path for f in work.embed}]
        await self.store.delete_paths(target.tenant, target.repo, failed)  # no stale chunks
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

    async def _store(self, target: Target, batch: list[domain.FileChunks], stale: set[str]) -> None:
        chunks = [c for _, file_chunks in batch for c in file_chunks]
        vectors: list[list[float]] = []
        for start in range(0, len(chunks), self.batch):
            vectors += await self.embedder.embed(
                [c.text for c in chunks[start : start + self.batch]]
            )
        if chunks:
            await self.store.upsert(
                target.tenant, target.repo, list(zip(chunks, vectors, strict=True))
            )
        for source, _ in batch:
            if source.path in stale:  # the file's older blobs: gone now that this one is stored
                await self.store.keep_blobs(
                    target.tenant, target.repo, source.path, {source.blob_sha}
                )


def _scope(
    target: Target, tree: Path, commit: str, base: str | None, stored: dict[str, frozenset[str]]
) -> Scope:
    if base is not None:
        try:
            changes = changed_files(tree, base, commit, target.index_filter)
        except UnknownCommitError:  # not in this clone (history rewritten): a full pass
            pass
        else:
            found = discover(tree, target.index_filter, paths=changes.paths_to_index())
            now_skipped = tuple(s.path for s in found.skipped)
            remove = tuple(sorted({*changes.paths_to_remove(), *now_skipped}))
            touched = (*changes.paths_to_index(), *changes.paths_to_remove())
            return Scope(found, remove, touched)
    found = discover(tree, target.index_filter)
    return Scope(found, domain.gone(stored, (f.path for f in found.files)), None)


def _chunked(
    files: Sequence[SourceFile], max_tokens: int, errors: list[dict[str, str]]
) -> Iterator[domain.FileChunks]:
    """Each file with its chunks; a file that cannot be cut is reported in ``errors``."""
    for source in files:
        try:
            chunks: list[Chunk] = chunk_file(source, max_tokens)
        except Exception as error:  # a parser bug must not stop the whole repository
            errors.append(domain.error_entry(source.path, f"chunking failed: {error}"))
            continue
        yield source, chunks


async def _prefetched(
    batches: Iterator[list[domain.FileChunks]],
) -> AsyncIterator[list[domain.FileChunks]]:
    """The batches, each cut in a worker thread while the one before is being embedded."""
    upcoming = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
    try:
        while (batch := await upcoming) is not None:
            upcoming = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
            yield batch
    finally:
        upcoming.cancel()
