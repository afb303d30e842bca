"""The git side of workspaces: checking out a base commit, applying diffs all or nothing.

git runs with a throwaway repository of its own (``--git-dir``), so the workspace's ``.git``
(which the sandbox can write) is never read: no hooks, no config, no fsmonitor from there.
git refuses paths with ``..``, absolute paths, ``.git/`` and anything beyond a symlink.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tempfile
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

from bdg_sandboxd.paths import WorkspaceError

GIT_TIMEOUT_S = 600.0
# Settings that could run a program, applied to every git we start.
SAFE_CONFIG = (
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "protocol.ext.allow=never",
    "-c",
    "safe.directory=*",
)


URL = re.compile(r"^(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://|[\w.-]+@[\w.-]+:)")
SCHEMES = {"file", "http", "https", "ssh", "git"}
COMMIT = re.compile(r"^[A-Za-z0-9._/@{}^~-]{1,200}$")


class PatchError(WorkspaceError):
    """Patch ``index`` (0-based, in the request's order) does not apply."""

    def __init__(self, index: int, git_message: str) -> None:
        super().__init__("invalid", f"patch {index} does not apply: {git_message}")
        self.index = index


def patch_hash(patch: str) -> str:
    return hashlib.sha256(patch.encode()).hexdigest()


def git_env() -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return {
        **inherited,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "LC_ALL": "C",
        "GIT_AUTHOR_NAME": "bdg",
        "GIT_AUTHOR_EMAIL": "bdg@localhost",
        "GIT_COMMITTER_NAME": "bdg",
        "GIT_COMMITTER_EMAIL": "bdg@localhost",
    }


def git(*args: str, cwd: Path | None = None, timeout: float = GIT_TIMEOUT_S) -> str:
    """Run git; its stdout, or a WorkspaceError("internal") with git's message."""
    done = run_git(*args, cwd=cwd, timeout=timeout)
    if done.returncode != 0:
        raise WorkspaceError("internal", f"git {args[0]} failed: {done.stderr.strip()}")
    return done.stdout


def run_git(
    *args: str, cwd: Path | None = None, timeout: float = GIT_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *SAFE_CONFIG, *args],
            cwd=cwd,
            env=git_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise WorkspaceError("internal", "git is not installed") from None
    except subprocess.TimeoutExpired:
        raise WorkspaceError("internal", f"git {args[0]} took over {timeout:.0f}s") from None


def apply_patches(tree: Path, patches: Sequence[str]) -> None:
    """Apply ``patches`` in order to ``tree``: all of them, or (on error) none."""
    todo = [(i, p if p.endswith("\n") else p + "\n") for i, p in enumerate(patches) if p.strip()]
    if not todo:
        return
    with tempfile.TemporaryDirectory(prefix="bdg-apply-") as scratch:
        gitdir = Path(scratch) / "git"
        git("init", "-q", "--bare", str(gitdir))
        stream = Path(scratch) / "all.diff"
        stream.write_text(joined(todo))
        base = ("--git-dir", str(gitdir), "--work-tree", ".", "apply")
        flags = ("--whitespace=nowarn", "--recount")
        # One input: git applies it in memory and writes only if every hunk fits.
        done = run_git(*base, *flags, str(stream), cwd=tree)
        if done.returncode == 0:
            return
        # Find the first patch that fails on top of the ones before it (nothing is written).
        for n in range(1, len(todo) + 1):
            stream.write_text(joined(todo[:n]))
            check = run_git(*base, "--check", *flags, str(stream), cwd=tree)
            if check.returncode != 0:
                raise PatchError(todo[n - 1][0], check.stderr.strip())
        raise PatchError(todo[-1][0], done.stderr.strip())


def joined(todo: Sequence[tuple[int, str]]) -> str:
    """One stream; a line that is not diff ends each patch's last hunk (for ``--recount``)."""
    return "".join(f"# bdg patch {i}\n{p}" for i, p in todo)


def revert_patches(tree: Path, patches: Sequence[str]) -> None:
    """Undo ``apply_patches(tree, patches)`` (used when the result is over quota)."""
    with tempfile.TemporaryDirectory(prefix="bdg-revert-") as scratch:
        gitdir = Path(scratch) / "git"
        git("init", "-q", "--bare", str(gitdir))
        one = Path(scratch) / "one.diff"
        for patch in reversed([p for p in patches if p.strip()]):
            one.write_text(patch if patch.endswith("\n") else patch + "\n")
            git(
                "--git-dir",
                str(gitdir),
                "--work-tree",
                ".",
                "apply",
                "-R",
                "--whitespace=nowarn",
                "--recount",
                str(one),
                cwd=tree,
            )


def resolve_commit(dest: Path, commit: str, repo: str) -> str:
    """A hash, tag, or a revision of the remote's (``HEAD~1``, ``main^``) in a full fetch."""
    for name in (commit, f"origin/{commit}"):
        found = run_git("rev-parse", "-q", "--verify", f"{name}^{{commit}}", cwd=dest)
        if found.returncode == 0:
            return found.stdout.strip()
    raise WorkspaceError("not_found", f"commit {commit!r} is not in {repo!r}")


def is_url(repo: str) -> bool:
    match = URL.match(repo)
    if match is None:
        return False
    if match["scheme"] is not None and match["scheme"].lower() not in SCHEMES:
        raise WorkspaceError("invalid", f"unsupported repository URL scheme in {repo!r}")
    return True


def file_url_path(repo: str) -> Path | None:
    """The local path of a ``file://`` URL; None for other URLs."""
    parsed = urllib.parse.urlsplit(repo)
    if parsed.scheme.lower() != "file":
        return None
    if parsed.netloc not in ("", "localhost"):
        raise WorkspaceError("invalid", f"file URL {repo!r} names a host")
    return Path(urllib.parse.unquote(parsed.path))


def repo_dirs(path: Path) -> tuple[Path, ...] | None:
    """The git directories ``path`` reads from (its own and the common one of a worktree), if
    ``path`` is the top of a git work tree or a bare repository itself; None otherwise (a
    folder below a top, or no repository at all)."""
    found = run_git(
        "-C", str(path), "rev-parse", "--path-format=absolute", "--is-bare-repository",
        "--git-dir", "--git-common-dir", "--show-toplevel",
    )  # fmt: skip
    lines = found.stdout.splitlines()
    if found.returncode != 0 or len(lines) < 3:
        return None
    bare, dirs = lines[0].strip() == "true", (Path(lines[1]).resolve(), Path(lines[2]).resolve())
    top = dirs[0] if bare else Path(lines[3]).resolve() if len(lines) > 3 else None
    return dirs if top == path.resolve() else None


def checkout(repo: str, commit: str, dest: Path, remote: Sequence[str] = ()) -> str:
    """Fetch ``commit`` of ``repo`` (shallow when the remote allows) into a new ``dest``;
    ``remote``: git options for the fetches (the judged host's, workspaces.py).

    The work tree is left at the commit, detached; returns its full hash.
    """
    if commit.startswith("-") or not COMMIT.match(commit):
        raise WorkspaceError("invalid", f"bad commit {commit!r}")
    git("init", "-q", str(dest))
    git("remote", "add", "origin", repo, cwd=dest)
    shallow = run_git(
        *remote, "fetch", "-q", "--depth", "1", "--no-tags", "origin", commit, cwd=dest
    )
    target = "FETCH_HEAD"
    if shallow.returncode != 0:  # an abbreviated hash, or a remote that refuses any-SHA wants
        full = run_git(
            *remote,
            "fetch",
            "-q",
            "--tags",
            "origin",
            "+HEAD:refs/remotes/origin/HEAD",
            "+refs/heads/*:refs/remotes/origin/*",
            cwd=dest,
        )
        if full.returncode != 0:
            raise WorkspaceError("not_found", f"cannot fetch {repo!r}: {full.stderr.strip()}")
        target = resolve_commit(dest, commit, repo)
    git("-c", "advice.detachedHead=false", "checkout", "-q", "--detach", target, cwd=dest)
    return git("rev-parse", "HEAD", cwd=dest).strip()
