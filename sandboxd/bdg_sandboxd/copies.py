"""Copying a file or a directory tree between two workspaces of one tenant (``ws.copy``).

Why: the tester's fail-to-pass check runs the change's tests on the base code in a second
workspace, and reinstalling the dependencies there cost it most of its time (pip, npm); a copy
of what the change's workspace installed (the venv, ``node_modules``) takes a fraction of it.

Everything is walked through directory fds, never through a path the sandbox could swap for a
symlink meanwhile: a symlink is copied as a link (its target is not read, whatever it names),
a regular file by its bytes, a directory with its contents; fifos, sockets and devices are left
out (reading a fifo would block the daemon). Set-id bits are dropped; modes and modification
times are kept (Python's bytecode caches check the sources' times).
"""

from __future__ import annotations

import os
import shutil
import stat

from bdg_sandboxd.paths import entries, invalid, subdir

FILE_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
FILE_WRITE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
CHUNK = 1 << 24


def size_of(parent: int, name: str, st: os.stat_result, depth: int = 0) -> int:
    """Bytes a copy of ``name`` (in the directory ``parent``) writes: its regular files."""
    if stat.S_ISREG(st.st_mode):
        return st.st_size
    if not stat.S_ISDIR(st.st_mode):
        return 0
    with subdir(parent, name, depth) as sub:
        return sum(size_of(sub, n, s, depth + 1) for n, s in entries(sub))


def copy_entry(
    src: int,
    name: str,
    st: os.stat_result,
    dst: int,
    new_name: str,
    owner: tuple[int, int] | None,
    depth: int = 0,
) -> None:
    """Copy ``name`` in the directory ``src`` to ``new_name`` in ``dst`` (which must not exist)."""
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(name, dir_fd=src), new_name, dir_fd=dst)
    elif stat.S_ISREG(st.st_mode):
        _copy_file(src, name, dst, new_name)
    elif stat.S_ISDIR(st.st_mode):
        os.mkdir(new_name, 0o700, dir_fd=dst)
        with subdir(src, name, depth) as inner, subdir(dst, new_name, depth) as out:
            for child, child_st in entries(inner):
                copy_entry(inner, child, child_st, out, child, owner, depth + 1)
    else:
        return  # a fifo, socket or device: left out
    if owner is not None:
        os.chown(new_name, *owner, dir_fd=dst, follow_symlinks=False)
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(new_name, stat.S_IMODE(st.st_mode) & 0o1777, dir_fd=dst)
        times = (st.st_atime_ns, st.st_mtime_ns)
        os.utime(new_name, ns=times, dir_fd=dst, follow_symlinks=False)


def _copy_file(src: int, name: str, dst: int, new_name: str) -> None:
    fd_in = os.open(name, FILE_READ, dir_fd=src)
    try:
        if not stat.S_ISREG(os.fstat(fd_in).st_mode):  # swapped since it was listed
            raise invalid(f"{name!r} changed while being copied")
        fd_out = os.open(new_name, FILE_WRITE, 0o600, dir_fd=dst)
        try:
            _copy_bytes(fd_in, fd_out)
        finally:
            os.close(fd_out)
    finally:
        os.close(fd_in)


def _copy_bytes(fd_in: int, fd_out: int) -> None:
    try:  # in the kernel, and shared blocks where the file system can
        while os.copy_file_range(fd_in, fd_out, CHUNK):
            pass
    except OSError:  # not between these file systems: through user space
        os.lseek(fd_in, 0, os.SEEK_SET)
        os.lseek(fd_out, 0, os.SEEK_SET)
        os.ftruncate(fd_out, 0)
        with open(fd_in, "rb", closefd=False) as r, open(fd_out, "wb", closefd=False) as w:
            shutil.copyfileobj(r, w)


def remove_entry(parent: int, name: str) -> None:
    """Remove what a failed copy left (a file, a link, or a tree)."""
    try:
        st = os.lstat(name, dir_fd=parent)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(name, dir_fd=parent)
    else:
        os.unlink(name, dir_fd=parent)
