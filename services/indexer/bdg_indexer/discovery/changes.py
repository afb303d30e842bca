"""What changed between two commits, from ``git diff --raw -z`` output (pure).

Only files a filter would index count, judged by mode and path (``skip_rules.indexable_change``):
a rename out of the filter is a deletion, a rename into it an addition.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bdg_indexer.discovery.globs import IndexFilter
from bdg_indexer.discovery.skip_rules import indexable_change


class ChangeKind(StrEnum):
    ADDED = "added"
    MODIFIED = "modified"
    DELETED = "deleted"
    RENAMED = "renamed"


@dataclass(frozen=True)
class Change:
    """One indexable file that changed. ``path`` is its path at the new commit (the removed
    path for DELETED); ``old_path`` its path at the old one (differs for RENAMED only)."""

    kind: ChangeKind
    path: str
    old_path: str | None
    old_blob: str | None
    new_blob: str | None


@dataclass(frozen=True)
class Changes:
    old_commit: str | None  # None: compared with the empty tree (a first index)
    new_commit: str
    changes: tuple[Change, ...]

    def of_kind(self, kind: ChangeKind) -> tuple[Change, ...]:
        return tuple(change for change in self.changes if change.kind is kind)

    def paths_to_index(self) -> tuple[str, ...]:
        """Paths whose blob at the new commit may have no chunks yet."""
        return tuple(c.path for c in self.changes if c.kind is not ChangeKind.DELETED)

    def paths_to_remove(self) -> tuple[str, ...]:
        """Paths that no longer exist at the new commit: drop their chunks."""
        return tuple(
            c.old_path if c.kind is ChangeKind.RENAMED and c.old_path else c.path
            for c in self.changes
            if c.kind in (ChangeKind.DELETED, ChangeKind.RENAMED)
        )


def changes_in_diff(raw: bytes, chosen: IndexFilter) -> tuple[Change, ...]:
    """The indexable changes a ``git diff --raw -z -M --no-abbrev`` output lists."""
    changes: list[Change] = []
    for meta, paths in _raw_records(raw):
        old_mode, new_mode, old_blob, new_blob, status = meta.split(" ")
        old_path, new_path = paths[0], paths[-1]
        before = status[0] not in "AC" and indexable_change(old_path, old_mode, chosen)
        after = status[0] != "D" and indexable_change(new_path, new_mode, chosen)
        kind = _kind(before, after, renamed=old_path != new_path)
        if kind is not None:
            changes.append(
                Change(
                    kind=kind,
                    path=old_path if kind is ChangeKind.DELETED else new_path,
                    old_path=old_path if before else None,
                    old_blob=_blob_or_none(old_blob) if before else None,
                    new_blob=_blob_or_none(new_blob) if after else None,
                )
            )
    return tuple(changes)


def _kind(before: bool, after: bool, *, renamed: bool) -> ChangeKind | None:
    if before and after:
        return ChangeKind.RENAMED if renamed else ChangeKind.MODIFIED
    if after:
        return ChangeKind.ADDED
    if before:
        return ChangeKind.DELETED
    return None


def _raw_records(raw: bytes) -> list[tuple[str, list[str]]]:
    """``git diff --raw -z`` records: (":mode mode blob blob status", [path] or [old, new])."""
    fields = raw.decode("utf-8", "surrogateescape").split("\0")
    records: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(fields) and fields[i].startswith(":"):
        meta = fields[i][1:]
        count = 2 if meta.split(" ")[-1][:1] in ("R", "C") else 1
        records.append((meta, fields[i + 1 : i + 1 + count]))
        i += 1 + count
    return records


def _blob_or_none(blob: str) -> str | None:
    return None if not blob.strip("0") else blob
