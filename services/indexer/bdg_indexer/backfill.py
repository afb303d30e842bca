"""The second pass of an indexing run: embed the repository's chunks stored without a vector.

The first pass (indexing.py) stores chunks at chunking speed, so full-text search finds them
long before the embedder (MiniLM: ~16 chunks/s on two cores) is through. This pass takes every
chunk of the repository still without a vector, whichever run stored it: a run cut during or
after the first pass leaves its rows to the next one, which embeds them even when no file
changed. A page's vectors are written (one transaction) while the next page is embedded, at
most one write in flight; progress is counted in chunks as each page is written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from bdg_indexer.sources import Target
from bdg_indexer.storage import unembedded
from bdg_indexer.storage.status import EMBEDDING, Progress, StatusBoard
from bdg_indexer.storage.unembedded import Unembedded
from bdg_indexer.storage.vectors import ChunkStore
from bdg_llm.embeddings import Embedder


@dataclass(frozen=True)
class Filled:
    """What this pass embedded: chunks and their tokens (what the embedder was paid for)."""

    chunks: int = 0
    tokens: int = 0


class Backfill:
    def __init__(
        self, store: ChunkStore, board: StatusBoard, embedder: Embedder, batch: int
    ) -> None:
        self.store, self.board, self.embedder, self.batch = store, board, embedder, batch

    async def run(self, target: Target, progress: Progress) -> tuple[Filled, Progress]:
        tenant, repo = target.tenant, target.repo
        total = await unembedded.count(self.store, tenant, repo)
        progress = progress.to("indexing", EMBEDDING, done=0, total=total)
        await self.board.write(progress)
        writer = _Writer(self, target, progress)
        after = 0  # ids in order: the next page is read while this one's vectors are written
        try:
            while rows := await unembedded.page(self.store, tenant, repo, after, self.batch):
                vectors = await self.embedder.embed([row.text for row in rows])
                await writer.write(rows, vectors)
                after = rows[-1].id
        finally:
            await writer.wait()  # a page embedded is a page kept, even when the next failed
        return Filled(writer.done, writer.tokens), writer.progress


class _Writer:
    def __init__(self, backfill: Backfill, target: Target, progress: Progress) -> None:
        self.backfill, self.target, self.progress = backfill, target, progress
        self.done = self.tokens = 0
        self._task: asyncio.Task[None] | None = None

    async def write(self, rows: list[Unembedded], vectors: Sequence[Sequence[float]]) -> None:
        items = [(row.id, vector) for row, vector in zip(rows, vectors, strict=True)]
        await self.wait()
        self._task = asyncio.create_task(self._write(rows, items))

    async def wait(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await task

    async def _write(
        self, rows: list[Unembedded], items: list[tuple[int, Sequence[float]]]
    ) -> None:
        store, board = self.backfill.store, self.backfill.board
        await unembedded.fill(store, self.target.tenant, self.target.repo, items)
        self.done += len(rows)
        self.tokens += sum(row.token_count for row in rows)
        self.progress = self.progress.to("indexing", EMBEDDING, done=self.done)
        await board.write(self.progress)
