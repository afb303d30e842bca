"""Pure decisions of an indexing run: which ref a push is on, which files need embedding, how
chunks are grouped into batches, what the run reports. No I/O, no clock."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bdg_indexer.chunks import Chunk, SourceFile

MAX_STATUS_ERRORS = 500  # entries kept in bdg_index_status.errors


def full_ref(ref: str) -> str:
    """``main`` -> ``refs/heads/main``; ``HEAD`` and full refs as they are."""
    if ref == "HEAD" or ref.startswith("refs/"):
        return ref
    return f"refs/heads/{ref}"


def follows(registered: str, pushed: str, default_branch: str | None) -> bool:
    """Whether a push to ``pushed`` moves the ref the repository was registered with; ``HEAD``
    follows the remote's default branch (``refs/heads/...``, None when unknown)."""
    wanted = full_ref(registered)
    if wanted == "HEAD":
        wanted = default_branch or ""
    return bool(wanted) and full_ref(pushed) == wanted


def space_name(model: str, dims: int) -> str:
    return f"{model}/{dims}"


_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def redact(text: str) -> str:
    """Credentials in URLs (``https://user:token@host``) are never written anywhere."""
    return _USERINFO.sub("***@", text)


@dataclass(frozen=True)
class Work:
    """What one run does with the files found: embed some, keep the rest."""

    embed: tuple[SourceFile, ...]  # no chunks stored at this blob yet
    reuse: tuple[SourceFile, ...]  # chunks stored at this blob (a previous run, or a crash)
    stale: tuple[str, ...]  # paths with chunks at other blobs too: drop those once done


def plan(files: Sequence[SourceFile], stored: Mapping[str, frozenset[str]]) -> Work:
    embed = tuple(f for f in files if f.blob_sha not in stored.get(f.path, frozenset()))
    reuse = tuple(f for f in files if f.blob_sha in stored.get(f.path, frozenset()))
    stale = tuple(f.path for f in files if stored.get(f.path, frozenset()) - {f.blob_sha})
    return Work(embed, reuse, stale)


def gone(stored: Iterable[str], present: Iterable[str]) -> tuple[str, ...]:
    """Stored paths that the tree no longer has (deleted, renamed away, now skipped)."""
    return tuple(sorted(set(stored) - set(present)))


FileChunks = tuple[SourceFile, list[Chunk]]


def batches(chunked: Iterable[FileChunks], size: int) -> Iterator[list[FileChunks]]:
    """Whole files, in order, about ``size`` chunks a batch: a batch is stored in one
    transaction, so a file's chunks are all there or none (a crash never leaves half a file
    that a rerun would take as done). A file of more chunks than ``size`` is a batch alone."""
    batch: list[FileChunks] = []
    count = 0
    for item in chunked:
        if batch and count + len(item[1]) > size:
            yield batch
            batch, count = [], 0
        batch.append(item)
        count += len(item[1])
    if batch:
        yield batch


def error_entry(path: str, reason: str) -> dict[str, str]:
    return {"path": path, "reason": reason}


def merge_errors(
    previous: Sequence[Mapping[str, Any]], touched: Iterable[str], new: Sequence[dict[str, str]]
) -> list[dict[str, str]]:
    """The status' error list after an incremental run: entries of files this run looked at are
    replaced by what it found, the others kept; capped at ``MAX_STATUS_ERRORS``."""
    looked_at = set(touched) | {e["path"] for e in new}
    kept = [
        error_entry(str(e.get("path", "")), str(e.get("reason", "")))
        for e in previous
        if e.get("path") not in looked_at
    ]
    return sorted([*kept, *new], key=lambda e: e["path"])[:MAX_STATUS_ERRORS]


@dataclass(frozen=True)
class Outcome:
    """What a finished run records in IndexUpdated."""

    commit: str
    files: int
    chunks: int
    embedded: int
    reused: int
    removed_files: int
    skipped_files: int
    tokens: int
    cost_usd: float
    seconds: float
    searchable_seconds: float = 0.0  # until every chunk was stored (the first pass): not recorded

    def fields(self, space: str) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "space": space,
            "files": self.files,
            "chunks": self.chunks,
            "embedded": self.embedded,
            "reused": self.reused,
            "removed_files": self.removed_files,
            "skipped_files": self.skipped_files,
            "tokens": self.tokens,
            "cost_usd": self.cost_usd,
            "seconds": round(self.seconds, 3),
        }
