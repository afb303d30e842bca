"""Reading and writing a repository's refs and objects as files, never through its own git.

A job's repository is the user's and may be hostile: its config can name programs (fsmonitor,
gpg.program, hooks), and its directories can be symbolic links out of it. So the deployer never
runs git on it. It builds objects in a scratch repository of its own that reads the job's
objects as an alternate, then copies the new loose objects in and writes one loose ref the way
git does (a ``.lock`` file renamed into place), refusing symbolic links on the way.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from bdg_runtime.reactions import StepError

NO_FOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC
HASH = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
LOOSE_OBJECT = re.compile(r"^[0-9a-f]{38}([0-9a-f]{24})?$")


class RepositoryError(StepError):
    """The repository cannot take the branch (not git, a symbolic link on the way, a branch of
    the same name elsewhere): the same delivery would fail again, so the step fails at once."""


@dataclass(frozen=True)
class GitDir:
    """A repository's common git directory (refs, objects, config) and how people name it."""

    path: Path
    shown: str


def find_git_dir(repo: Path) -> GitDir:
    """The git directory of a work tree (``.git``, or the common dir a ``.git`` file points
    to) or of a bare repository."""
    if not repo.is_absolute():
        raise RepositoryError(f"repository {str(repo)!r} must be an absolute path")
    real = repo.resolve()
    dot = real / ".git"
    if dot.is_dir():
        git_dir = dot.resolve()
    elif dot.is_file():
        text = dot.read_text(errors="replace").strip()
        if not text.startswith("gitdir:"):
            raise RepositoryError(f"{repo}/.git names no git directory")
        linked = (real / text.removeprefix("gitdir:").strip()).resolve()
        common = linked / "commondir"
        git_dir = (linked / common.read_text().strip()).resolve() if common.is_file() else linked
    elif (real / "HEAD").is_file() and (real / "objects").is_dir():
        git_dir = real
    else:
        raise RepositoryError(f"{repo} is not a git repository: no branch can be delivered")
    if (git_dir / "reftable").exists():
        raise RepositoryError(f"{repo} keeps its refs in a reftable: not supported yet")
    return GitDir(git_dir, str(repo))


def _no_symlinks(root: Path, parts: tuple[str, ...]) -> Path:
    """``root/parts...``, each existing part a real directory (created when missing)."""
    here = root
    for part in parts:
        here = here / part
        try:
            if here.is_symlink() or (here.exists() and not here.is_dir()):
                raise RepositoryError(f"{here} is not a plain directory: refusing to write there")
            here.mkdir(mode=0o755, exist_ok=True)
        except OSError as error:
            raise RepositoryError(f"cannot write under {here}: {error}") from error
    return here


def read_ref(git_dir: Path, name: str) -> str | None:
    """The hash a ref names (``refs/...``, or ``HEAD`` followed through ``ref:``), loose or
    packed; None when there is none."""
    for _ in range(5):  # HEAD -> refs/heads/main -> ... : a short chain at most
        loose = _read_file(git_dir, name)
        if loose is None:
            return _packed(git_dir, name)
        if loose.startswith("ref:"):
            name = loose.removeprefix("ref:").strip()
            continue
        return loose if HASH.match(loose) else None
    return None


def resolve_name(git_dir: Path, name: str) -> str | None:
    """What ``git rev-parse`` would find for a branch, tag or ref name (not an expression)."""
    if HASH.match(name):
        return name
    if name == "HEAD" or name.startswith("refs/"):
        return read_ref(git_dir, name)
    for prefix in ("refs/heads/", "refs/tags/", "refs/remotes/"):
        found = read_ref(git_dir, prefix + name)
        if found is not None:
            return found
    return None


def _read_file(git_dir: Path, name: str) -> str | None:
    if ".." in name.split("/"):
        return None
    try:
        fd = os.open(git_dir / name, os.O_RDONLY | NO_FOLLOW)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as error:
        raise RepositoryError(f"cannot read {name} in {git_dir}: {error}") from error
    with os.fdopen(fd) as f:
        return f.read().strip()


def _packed(git_dir: Path, name: str) -> str | None:
    text = _read_file(git_dir, "packed-refs")
    for line in (text or "").splitlines():
        sha, _, ref = line.partition(" ")
        if ref == name and HASH.match(sha):
            return sha
    return None


def copy_objects(scratch_objects: Path, git_dir: Path) -> int:
    """Copy the loose objects made in the scratch repository into the repository's object
    store (content-addressed: an existing one is the same object); how many were new."""
    objects = git_dir / "objects"
    if objects.is_symlink():
        raise RepositoryError(f"{objects} is a symbolic link: refusing to write there")
    copied = 0
    for fan in sorted(p for p in scratch_objects.iterdir() if len(p.name) == 2):
        for obj in sorted(fan.iterdir()):
            if not LOOSE_OBJECT.match(obj.name):
                continue
            target_dir = _no_symlinks(objects, (fan.name,))
            if (target_dir / obj.name).exists():
                continue
            _write_new(target_dir, obj.name, obj.read_bytes(), 0o444)
            copied += 1
    return copied


def write_ref(git_dir: Path, ref: str, sha: str) -> None:
    """Create the loose ref ``ref`` at ``sha`` as git does: ``<ref>.lock``, then rename."""
    *dirs, leaf = ref.split("/")
    where = _no_symlinks(git_dir, tuple(dirs))
    _write_new(where, leaf, f"{sha}\n".encode(), 0o644, lock=True)


def delete_ref(git_dir: Path, ref: str, sha: str) -> bool:
    """Remove the loose ref ``ref`` if it still names ``sha``; whether it did."""
    if _read_file(git_dir, ref) != sha:
        return False
    *dirs, leaf = ref.split("/")
    where = _no_symlinks(git_dir, tuple(dirs))
    (where / leaf).unlink(missing_ok=True)
    return True


def _write_new(directory: Path, name: str, data: bytes, mode: int, lock: bool = False) -> None:
    temp = directory / (f"{name}.lock" if lock else f"tmp_obj_{name}")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NO_FOLLOW, mode)
    except FileExistsError as error:
        # another delivery of the same job holds the lock: the redelivery tries again
        raise RuntimeError(f"{temp} exists: another writer is at work") from error
    except PermissionError as error:  # the repository is not the deployer's to write
        raise RepositoryError(f"cannot write {temp}: {error}") from error
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, directory / name)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
