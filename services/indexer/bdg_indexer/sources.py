"""What an indexing run reads: the files in its scope (all, or what changed since the index's
commit), and their chunks, cut in a worker thread one batch ahead of their storing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from bdg_indexer import domain
from bdg_indexer.chunking.chunker import chunk_file
from bdg_indexer.chunks import Chunk, SourceFile
from bdg_indexer.discovery.git import UnknownCommitError
from bdg_indexer.discovery.globs import IndexFilter
from bdg_indexer.discovery.worktree import Discovery, changed_files, discover


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


def scope(
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


def chunked(
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


async def prefetched(
    batches: Iterator[list[domain.FileChunks]],
) -> AsyncIterator[list[domain.FileChunks]]:
    """The batches, each cut in a worker thread while the one before is being stored."""
    upcoming = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
    try:
        while (batch := await upcoming) is not None:
            upcoming = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
            yield batch
    finally:
        upcoming.cancel()
