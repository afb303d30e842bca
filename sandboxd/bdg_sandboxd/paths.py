"""Resolving a user's path inside a workspace without ever leaving it.

The sandbox (uid 65534) may change the tree while we work on it as root, so nothing here
resolves a path by name and then opens it: every step is an ``openat`` relative to a
directory we already hold, with ``O_NOFOLLOW``. Symlinks are followed by hand, only while
they stay inside the workspace; absolute targets and ``..`` beyond the root are refused.
"""

from __future__ import annotations

import errno
import os
import stat
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bdg_contracts.sandbox import FileEntry

ErrorCode = Literal["invalid", "not_found", "quota", "conflict", "internal"]
MAX_SYMLINKS = 40
MAX_PATH = 4096
NAME_MAX = 255  # bytes in one name: beyond, the kernel's ENAMETOOLONG would be an internal error
MAX_DEPTH = 256  # directories nested deeper are refused (each level holds an fd)
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class WorkspaceError(Exception):
    """A workspace request failed; ``code`` is the protocol's error code."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message


def invalid(message: str) -> WorkspaceError:
    return WorkspaceError("invalid", message)


def split(user_path: str) -> list[str]:
    """The components of a relative path; ``[]`` is the workspace root."""
    if "\0" in user_path:
        raise invalid("path contains a NUL byte")
    if len(user_path) > MAX_PATH:
        raise invalid(f"path longer than {MAX_PATH} characters")
    if user_path.startswith("/"):
        raise invalid(f"absolute path {user_path!r}: paths are relative to the workspace")
    parts = [p for p in user_path.split("/") if p not in ("", ".")]
    for part in parts:
        if len(part.encode(errors="surrogateescape")) > NAME_MAX:
            size = len(part.encode(errors="surrogateescape"))
            raise invalid(f"path: a name of {size} bytes, over {NAME_MAX} bytes")
    if ".." in parts:
        raise invalid(f"path {user_path!r} contains '..'")
    return parts


@dataclass
class Resolved:
    """Open directories from the root down to the parent of ``name``.

    ``name`` is None when the path is a directory we hold (the last fd), e.g. the root.
    """

    fds: list[int]
    name: str | None
    path: str  # where it is, relative to the root, after following symlinks

    @property
    def parent(self) -> int:
        return self.fds[-1]


@contextmanager
def resolve(
    root: Path,
    user_path: str,
    *,
    follow_last: bool,
    create_parents: bool = False,
    owner: tuple[int, int] | None = None,
) -> Iterator[Resolved]:
    """Walk ``user_path`` under ``root``; the fds are closed on exit.

    ``follow_last=False`` stops before the final component (so a symlink there is the link
    itself, never its target); ``create_parents`` makes missing directories on the way
    (owned by ``owner`` when given).
    """
    pending = deque(split(user_path))
    fds = [os.open(root, DIR_FLAGS)]
    names: list[str] = []
    hops = 0
    try:
        while pending:
            name = pending.popleft()
            if name in ("", "."):
                continue
            if name == "..":  # only from a symlink's target: pop what we hold
                if len(fds) == 1:
                    raise invalid(f"path {user_path!r} leads outside the workspace")
                os.close(fds.pop())
                names.pop()
                continue
            last = not pending
            if last and not follow_last:
                yield Resolved(fds, name, "/".join([*names, name]))
                return
            try:
                st = os.lstat(name, dir_fd=fds[-1])
            except FileNotFoundError:
                if last or not create_parents:
                    raise WorkspaceError("not_found", f"{user_path!r} does not exist") from None
                os.mkdir(name, 0o755, dir_fd=fds[-1])
                if owner is not None:
                    os.chown(name, *owner, dir_fd=fds[-1], follow_symlinks=False)
                st = os.lstat(name, dir_fd=fds[-1])
            if stat.S_ISLNK(st.st_mode):
                hops += 1
                if hops > MAX_SYMLINKS:
                    raise invalid(f"too many symlinks resolving {user_path!r}")
                target = os.readlink(name, dir_fd=fds[-1])
                if target.startswith("/"):
                    raise invalid(f"{user_path!r} is a symlink outside the workspace")
                pending.extendleft(reversed(target.split("/")))
                continue
            if last:
                yield Resolved(fds, name, "/".join([*names, name]))
                return
            fds.append(open_dir(fds[-1], name, user_path))
            names.append(name)
        yield Resolved(fds, None, "/".join(names))
    finally:
        for fd in fds:
            os.close(fd)


def open_dir(parent: int, name: str, user_path: str) -> int:
    try:
        return os.open(name, DIR_FLAGS, dir_fd=parent)
    except NotADirectoryError:
        raise invalid(f"{user_path!r}: {name!r} is not a directory") from None
    except OSError as e:
        if e.errno == errno.ELOOP:  # became a symlink since we looked
            raise invalid(f"{user_path!r} changed while being resolved") from None
        raise


def scan(root: Path, owner: tuple[int, int] | None = None) -> int:
    """Bytes in the regular files under ``root`` (each inode once); chown all to ``owner``."""
    fd = os.open(root, DIR_FLAGS)
    try:
        if owner is not None:
            os.chown(fd, *owner)
        return _scan(fd, owner, set(), 0)
    finally:
        os.close(fd)


def _scan(fd: int, owner: tuple[int, int] | None, seen: set[tuple[int, int]], depth: int) -> int:
    total = 0
    for name, st in entries(fd):
        if owner is not None and (st.st_uid, st.st_gid) != owner:
            os.chown(name, *owner, dir_fd=fd, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            with subdir(fd, name, depth) as sub:
                total += _scan(sub, owner, seen, depth + 1)
        elif stat.S_ISREG(st.st_mode):
            if st.st_nlink > 1:
                if (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    return total


def list_tree(fd: int, prefix: str, depth: int = 0) -> list[FileEntry]:
    """Everything under the directory ``fd``, paths starting with ``prefix``; no ``.git``."""
    out: list[FileEntry] = []
    for name, st in entries(fd):
        if name == ".git":
            continue
        path = f"{prefix}{name}"
        if stat.S_ISDIR(st.st_mode):
            out.append(FileEntry(path=path, size=0, is_dir=True))
            with subdir(fd, name, depth) as sub:
                out += list_tree(sub, f"{path}/", depth + 1)
        else:
            out.append(FileEntry(path=path, size=st.st_size, is_dir=False))
    return out


def entries(fd: int) -> list[tuple[str, os.stat_result]]:
    with os.scandir(fd) as it:
        found = list(it)
    out = []
    for entry in sorted(found, key=lambda e: e.name):
        try:
            out.append((entry.name, entry.stat(follow_symlinks=False)))
        except FileNotFoundError:  # removed meanwhile
            continue
    return out


@contextmanager
def subdir(parent: int, name: str, depth: int = 0) -> Iterator[int]:
    """An fd of the directory ``name`` in ``parent`` (never through a symlink)."""
    if depth + 1 >= MAX_DEPTH:
        raise invalid(f"directories nested deeper than {MAX_DEPTH}")
    sub = open_dir(parent, name, name)
    try:
        yield sub
    finally:
        os.close(sub)
