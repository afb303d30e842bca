"""Which files of a git working tree get indexed, and what changed between two commits.

Files come from ``git ls-files`` (tracked, plus untracked ones .gitignore does not exclude),
filtered by the repository's include/exclude globs (``globs``), then skipped when they are not
source a reader would search (``skip_rules``). Each kept file carries the git blob SHA of exactly
the bytes that were read. This module reads the tree; ``git`` runs the commands; the rules and
the diff parsing (``changes``) are pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bdg_indexer.chunks import SourceFile
from bdg_indexer.discovery import git
from bdg_indexer.discovery.changes import Changes, changes_in_diff
from bdg_indexer.discovery.globs import IndexFilter
from bdg_indexer.discovery.skip_rules import (
    SkippedFile,
    SkipReason,
    oversize,
    skip_by_mode_or_path,
    source_or_skipped,
)


@dataclass(frozen=True)
class Discovery:
    files: tuple[SourceFile, ...]
    skipped: tuple[SkippedFile, ...]
    unmatched: int  # files the include/exclude globs leave out (not reported one by one)


def discover(
    repo: Path | str,
    index_filter: IndexFilter | None = None,
    paths: Iterable[str] | None = None,
) -> Discovery:
    """The indexable files of the working tree containing ``repo`` (all, or only ``paths``).

    Reads the working tree as it is (uncommitted edits included); a tracked file deleted from
    it is simply absent. Paths are relative to the repository root, with ``/``.
    """
    chosen = index_filter or IndexFilter()
    root = git.toplevel(Path(repo))
    object_format = git.object_format(root)
    wanted = None if paths is None else set(paths)
    files: list[SourceFile] = []
    skipped: list[SkippedFile] = []
    unmatched = 0
    for raw_path, mode in git.list_entries(root):
        try:
            path = raw_path.decode("utf-8")
        except UnicodeDecodeError:
            shown = raw_path.decode("utf-8", "backslashreplace")
            skipped.append(SkippedFile(shown, SkipReason.PATH_NOT_UTF8, "path is not UTF-8"))
            continue
        if wanted is not None and path not in wanted:
            continue
        if not chosen.matches(path):
            unmatched += 1
            continue
        found = _examine(root, path, mode, chosen, object_format)
        if isinstance(found, SourceFile):
            files.append(found)
        elif found is not None:
            skipped.append(found)
    return Discovery(tuple(files), tuple(skipped), unmatched)


def _examine(
    root: Path, path: str, mode: str | None, chosen: IndexFilter, object_format: str
) -> SourceFile | SkippedFile | None:
    if early := skip_by_mode_or_path(path, mode, chosen):
        return early
    full = root / path
    try:
        status = full.lstat()
        if too_large := oversize(path, status.st_size, chosen):  # before reading it
            return too_large
        if full.is_symlink():
            return SkippedFile(path, SkipReason.SYMLINK, "symbolic link")
        if not full.is_file():
            return SkippedFile(path, SkipReason.NOT_A_FILE, "not a regular file")
        data = full.read_bytes()
    except FileNotFoundError:
        return None  # tracked but deleted in the working tree: not part of it
    return source_or_skipped(path, data, chosen, object_format)


def changed_files(
    repo: Path | str,
    old: str | None,
    new: str,
    index_filter: IndexFilter | None = None,
) -> Changes:
    """What changed between commits ``old`` (None: nothing indexed yet) and ``new``.

    Only files the filter would index count, judged by path: a rename out of the filter is a
    deletion, a rename into it an addition. Whether a file is binary or too large is known only
    once it is read, so the caller discovers ``paths_to_index()`` and drops those skipped.
    """
    chosen = index_filter or IndexFilter()
    root = git.toplevel(Path(repo))
    new_commit = git.resolve_commit(root, new)
    old_commit = git.resolve_commit(root, old) if old is not None else None
    base = old_commit or git.empty_tree(root)
    raw = git.raw_diff(root, base, new_commit)
    return Changes(old_commit, new_commit, changes_in_diff(raw, chosen))
