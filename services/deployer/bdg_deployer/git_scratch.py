"""git on the deployer's own repositories only: a scratch one per delivery (reading the job's
objects as an alternate), its clones of URL sources, the repositories it makes for jobs that
named none. git runs with no system or global config, no GIT_* variables from outside, no hooks,
no fsmonitor, no signing program: nothing but git itself runs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from bdg_deployer.domain import ChangeSet, DeployTask, commit_message
from bdg_deployer.git_refs import GitDir, RepositoryError

BOT_NAME = "BigDaddyG Agent"
BOT_EMAIL = "agent@bigdaddyg.invalid"
GIT_TIMEOUT_S = 600.0
SAFE = (
    *("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false"),
    *("-c", "protocol.ext.allow=never", "-c", "commit.gpgSign=false"),
)


def object_format(target: GitDir) -> str:
    """The repository's object format (sha1 or sha256), read from its config as data."""
    config = target.path / "config"
    if not config.is_file():
        return "sha1"
    done = run(Path("/"), "config", "--file", str(config), "--get", "extensions.objectformat")
    return done.stdout.strip() or "sha1"


def commit(scratch: Path, task: DeployTask, base: str) -> str:
    """base + every patch, in a private index, committed with the approval's time ("" for
    base: a first commit, on an empty tree)."""
    env = {"GIT_DIR": str(scratch), "GIT_INDEX_FILE": str(scratch / "bdg-index")}
    if base:
        if run(scratch, "cat-file", "-e", f"{base}^{{commit}}", env=env).returncode != 0:
            raise RepositoryError(f"the job's base commit {base} is not in its repository")
        git(scratch, "read-tree", base, env=env)
    else:
        git(scratch, "read-tree", "--empty", env=env)
    for i, patch in enumerate(task.change.patches):
        file = scratch / f"patch-{i}.diff"
        file.write_text(patch if patch.endswith("\n") else patch + "\n")
        flags = ("--cached", "--whitespace=nowarn", "--recount")
        done = run(scratch, "apply", *flags, str(file), env=env)
        if done.returncode != 0:
            raise RepositoryError(f"patch {i} of the job does not apply: {done.stderr.strip()}")
    tree = git(scratch, "write-tree", env=env).strip()
    when = task.approved_at.timestamp() if task.approved_at else 0
    stamp = f"@{int(when)} +0000"
    identity = {
        "GIT_AUTHOR_NAME": BOT_NAME,
        "GIT_AUTHOR_EMAIL": BOT_EMAIL,
        "GIT_AUTHOR_DATE": stamp,
        "GIT_COMMITTER_NAME": BOT_NAME,
        "GIT_COMMITTER_EMAIL": BOT_EMAIL,
        "GIT_COMMITTER_DATE": stamp,
    }
    message = scratch / "message.txt"
    message.write_text(commit_message(task))
    parent = ("-p", base) if base else ()
    args = ("commit-tree", "--no-gpg-sign", tree, *parent, "-F", str(message))
    return git(scratch, *args, env={**env, **identity}).strip()


def init_bare(path: Path) -> None:
    """A bare repository of the deployer's own at ``path`` (kept when it exists)."""
    if not (path / "HEAD").exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        git(path.parent, "init", "-q", "--bare", str(path))


def fetch_base(clone: Path, change: ChangeSet, credentials: dict[str, str] | None = None) -> str:
    """The base commit in the deployer's clone of the job's URL, fetched when missing (with the
    host's ``credentials``, git configuration given through the environment, when it has some:
    a private repository)."""
    init_bare(clone)
    env = {"GIT_DIR": str(clone), **(credentials or {})}
    wanted = change.base_commit or change.base_ref
    if change.base_commit:
        present = run(clone, "cat-file", "-e", f"{wanted}^{{commit}}", env=env)
        if present.returncode == 0:
            return change.base_commit
    if wanted.startswith("-"):  # never an option of git's
        raise RepositoryError(f"bad base ref {wanted!r}")
    done = run(clone, "fetch", "-q", "--no-tags", "--end-of-options", change.repo, wanted, env=env)
    if done.returncode != 0:
        raise RepositoryError(f"cannot fetch {wanted} from {change.repo}: {done.stderr.strip()}")
    return git(clone, "rev-parse", "FETCH_HEAD^{commit}", env=env).strip()


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = run(cwd, *args, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"git {args[0]} failed: {done.stderr.strip()}")
    return done.stdout


def run(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # Nothing of the caller's git setup applies: no GIT_* variables, no global or system config.
    base = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    base |= {
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
    }
    return subprocess.run(
        ["git", *SAFE, *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT_S,
        check=False,
        stdin=subprocess.DEVNULL,
    )
