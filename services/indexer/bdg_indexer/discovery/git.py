"""The git commands discovery runs on a working tree: the one place it starts processes.

Every call runs with the caller's repository variables removed (a hook's ``GIT_DIR`` would point
git elsewhere), no optional locks (indexing must not contend with someone working in the same
tree), no prompts, the C locale, and an empty stdin.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


class DiscoveryError(Exception):
    """Git could not list or compare the repository's files."""


class NotAGitRepositoryError(DiscoveryError):
    """The path is not inside a git working tree."""


class UnknownCommitError(DiscoveryError):
    """A revision does not name a commit of the repository."""


def toplevel(path: Path) -> Path:
    """The root of the working tree containing ``path``."""
    if not path.is_dir():
        raise NotAGitRepositoryError(f"{path} is not a directory")
    done = _run(path, "rev-parse", "--show-toplevel")
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip()
        raise NotAGitRepositoryError(f"{path} is not inside a git working tree: {why}")
    return Path(done.stdout.decode().strip())


def object_format(root: Path) -> str:
    """``sha1`` or ``sha256``: how the repository names its blobs."""
    return _git(root, "rev-parse", "--show-object-format").decode().strip()


def list_entries(root: Path) -> list[tuple[bytes, str | None]]:
    """(path, mode) of tracked files and (path, None) of untracked, not ignored ones, by path."""
    entries: dict[bytes, str | None] = {}
    for record in _git(root, "ls-files", "-z", "--stage").split(b"\0"):
        if record:
            meta, _, path = record.partition(b"\t")
            entries.setdefault(path, meta.split(b" ", 1)[0].decode())  # unmerged: 3 stages
    for path in _git(root, "ls-files", "-z", "--others", "--exclude-standard").split(b"\0"):
        if path and not path.endswith(b"/"):  # "dir/": an untracked nested repository
            entries.setdefault(path, None)
    return sorted(entries.items())


def resolve_commit(root: Path, revision: str) -> str:
    """The full id of the commit ``revision`` names; UnknownCommitError if none."""
    if not revision or revision.startswith("-"):
        raise UnknownCommitError(f"{revision!r} is not a commit of {root}")
    done = _run(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if done.returncode != 0:
        raise UnknownCommitError(f"{revision!r} is not a commit of {root}")
    return done.stdout.decode().strip()


def empty_tree(root: Path) -> str:
    """The id of the empty tree in the repository's object format (the base of a first index)."""
    return _git(root, "hash-object", "-t", "tree", "--stdin").decode().strip()


def raw_diff(root: Path, base: str, new_commit: str) -> bytes:
    """``git diff --raw -z`` between two trees, renames detected, full blob ids."""
    return _git(
        root, "diff", "--raw", "-z", "-M", "--no-abbrev", "--no-ext-diff", base, new_commit, "--"
    )


# Variables a git hook (or a caller's shell) may set that would point git at another repository.
_REPOSITORY_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR")


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in _REPOSITORY_VARIABLES}
    # No optional locks: indexing must not contend with someone working in the same tree.
    env.update(GIT_OPTIONAL_LOCKS="0", GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    try:
        return subprocess.run(  # input=b"": git never waits on the caller's stdin
            ["git", "-C", str(cwd), *args], input=b"", capture_output=True, env=env, check=False
        )
    except FileNotFoundError as exc:
        raise DiscoveryError("git is not installed (no 'git' on PATH)") from exc


def _git(cwd: Path, *args: str) -> bytes:
    done = _run(cwd, *args)
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip()
        raise DiscoveryError(f"git {' '.join(args)} failed in {cwd}: {why}")
    return done.stdout
