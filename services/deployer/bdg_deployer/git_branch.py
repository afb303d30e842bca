"""The default deploy step: the job's change delivered as a branch of its repository.

``bdg/<job>`` is the base commit the job pinned (or, when none was, its base ref now) plus every
FilesChanged patch in order, committed by a fixed bot identity at the deploy approval's time. The
same job gives the same commit, so a redelivery finds the branch already there and writes
nothing. git runs only on a scratch repository of the deployer's own (its config, no hooks), which
reads the job's objects as an alternate; what it made is copied in as files (git_refs.py).

A job whose repository is a clone URL gets its branch in the deployer's own clone of that URL,
``<BDG_HOME>/deploys/<tenant>/<name>-<hash>.git``: the deployer holds no push credentials. A job
with no repository (its workspace started empty) gets a repository of its own there,
``<BDG_HOME>/deploys/<tenant>/job-<id>.git``, its branch a first commit with the job's files.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import subprocess
import tempfile
from pathlib import Path

from bdg_contracts import events as ev
from bdg_deployer.adapters import AbstractDeployProvider
from bdg_deployer.domain import (
    ChangeSet,
    Deployment,
    DeployTask,
    Release,
    branch_name,
    commit_message,
    describe_paths,
)
from bdg_deployer.git_refs import (
    GitDir,
    RepositoryError,
    copy_objects,
    delete_ref,
    find_git_dir,
    read_ref,
    resolve_name,
    write_ref,
)

BOT_NAME = "BigDaddyG Agent"
BOT_EMAIL = "agent@bigdaddyg.invalid"
GIT_TIMEOUT_S = 600.0
URL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://|[\w.-]+@[\w.-]+:)")
# Applied to every git the deployer starts, on repositories of its own only.
SAFE = (
    *("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false"),
    *("-c", "protocol.ext.allow=never", "-c", "commit.gpgSign=false"),
)


def is_url(repo: str) -> bool:
    return URL.match(repo) is not None


def clone_path(clones: Path, tenant: str, url: str) -> Path:
    """The deployer's clone of ``url``: one per tenant and URL, named so people find it."""
    tail = re.sub(r"[^A-Za-z0-9._-]", "-", url.rstrip("/").rsplit("/", 1)[-1])
    name = tail.removesuffix(".git")[:40] or "repo"
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return clones / tenant / f"{name}-{digest}.git"


class GitBranchDeployer(AbstractDeployProvider):
    def __init__(self, clones: Path) -> None:
        self.clones = clones

    def _where(self, task: DeployTask) -> str:
        repo = task.change.repo
        if not repo:
            return f"{self._own_repo(task)} (a new repository: the job named none)"
        if is_url(repo):
            clone = clone_path(self.clones, task.tenant_id, repo)
            return f"{clone} (the deployer's clone of {repo})"
        return repo

    async def prepare(self, task: DeployTask) -> Release:
        change = task.change
        if change.repo and not is_url(change.repo):  # no approval asked for what cannot be
            await asyncio.to_thread(find_git_dir, Path(change.repo))
        base = change.base_commit[:12] or change.base_ref if change.repo else "an empty tree"
        target = f"branch {branch_name(task.job_id)} in {self._where(task)}"
        preview = (
            f"{len(change.patches)} patch(es) on {base} committed by {BOT_NAME}: "
            f"{describe_paths(change.paths)}"
        )
        return Release(target, preview)

    async def deploy(self, task: DeployTask) -> Deployment:
        delivered = await asyncio.to_thread(self._deliver, task)
        url = f"file://{delivered.repository}#{delivered.branch}"
        return Deployment(url, branch=delivered)

    async def roll_back(self, task: DeployTask) -> str:
        """The branch goes again if it still names the job's commit; nothing serves after."""
        d = task.delivered
        if d is not None:
            git_dir = await asyncio.to_thread(self._git_dir, task)
            await asyncio.to_thread(delete_ref, git_dir.path, f"refs/heads/{d.branch}", d.commit)
        return ""

    def _own_repo(self, task: DeployTask) -> Path:
        return self.clones / task.tenant_id / f"job-{task.job_id.hex}.git"

    def _git_dir(self, task: DeployTask) -> GitDir:
        repo = task.change.repo
        if not repo:
            own = self._own_repo(task)
            return GitDir(own, str(own))
        if is_url(repo):
            clone = clone_path(self.clones, task.tenant_id, repo)
            return GitDir(clone, str(clone))
        return find_git_dir(Path(repo))

    def _deliver(self, task: DeployTask) -> ev.DeliveredBranch:
        change = task.change
        base = change.base_commit
        if is_url(change.repo):
            base = _fetch(clone_path(self.clones, task.tenant_id, change.repo), change)
        target = self._git_dir(task)
        if not change.repo:
            _init_bare(target.path)
        elif not base:
            base = resolve_name(target.path, change.base_ref) or ""
            if not base:
                raise RepositoryError(f"{change.base_ref!r} names no commit in {target.shown}")
        branch = branch_name(task.job_id)
        ref = f"refs/heads/{branch}"
        with tempfile.TemporaryDirectory(prefix="bdg-deliver-") as tmp:
            scratch = Path(tmp) / "scratch.git"
            form = f"--object-format={_format(target)}"
            _git(Path(tmp), "init", "-q", "--bare", form, str(scratch))
            alternates = scratch / "objects" / "info" / "alternates"
            alternates.write_text(f"{(target.path / 'objects').resolve()}\n")
            sha = _commit(scratch, task, base)
            existing = read_ref(target.path, ref)
            if existing is not None and existing != sha:
                raise RepositoryError(
                    f"branch {branch} already exists in {target.shown} at {existing}, not at this "
                    f"job's commit {sha}: delete or rename it, then retry the step"
                )
            copy_objects(scratch / "objects", target.path)
            if existing is None:
                write_ref(target.path, ref, sha)
        return ev.DeliveredBranch(repository=target.shown, branch=branch, commit=sha)


def _format(target: GitDir) -> str:
    """The repository's object format (sha1 or sha256), read from its config as data."""
    config = target.path / "config"
    if not config.is_file():
        return "sha1"
    done = _run(Path("/"), "config", "--file", str(config), "--get", "extensions.objectformat")
    return done.stdout.strip() or "sha1"


def _commit(scratch: Path, task: DeployTask, base: str) -> str:
    """base + every patch, in a private index, committed with the approval's time ("" for
    base: a first commit, on an empty tree)."""
    env = {"GIT_DIR": str(scratch), "GIT_INDEX_FILE": str(scratch / "bdg-index")}
    if base:
        if _run(scratch, "cat-file", "-e", f"{base}^{{commit}}", env=env).returncode != 0:
            raise RepositoryError(f"the job's base commit {base} is not in its repository")
        _git(scratch, "read-tree", base, env=env)
    else:
        _git(scratch, "read-tree", "--empty", env=env)
    for i, patch in enumerate(task.change.patches):
        file = scratch / f"patch-{i}.diff"
        file.write_text(patch if patch.endswith("\n") else patch + "\n")
        flags = ("--cached", "--whitespace=nowarn", "--recount")
        done = _run(scratch, "apply", *flags, str(file), env=env)
        if done.returncode != 0:
            raise RepositoryError(f"patch {i} of the job does not apply: {done.stderr.strip()}")
    tree = _git(scratch, "write-tree", env=env).strip()
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
    return _git(scratch, *args, env={**env, **identity}).strip()


def _init_bare(path: Path) -> None:
    """A bare repository of the deployer's own at ``path`` (kept when it exists)."""
    if not (path / "HEAD").exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _git(path.parent, "init", "-q", "--bare", str(path))


def _fetch(clone: Path, change: ChangeSet) -> str:
    """The base commit in the deployer's clone of the job's URL, fetched when missing."""
    _init_bare(clone)
    env = {"GIT_DIR": str(clone)}
    wanted = change.base_commit or change.base_ref
    if change.base_commit:
        present = _run(clone, "cat-file", "-e", f"{wanted}^{{commit}}", env=env)
        if present.returncode == 0:
            return change.base_commit
    done = _run(clone, "fetch", "-q", "--no-tags", change.repo, wanted, env=env)
    if done.returncode != 0:
        raise RepositoryError(f"cannot fetch {wanted} from {change.repo}: {done.stderr.strip()}")
    return _git(clone, "rev-parse", "FETCH_HEAD^{commit}", env=env).strip()


def _git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = _run(cwd, *args, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"git {args[0]} failed: {done.stderr.strip()}")
    return done.stdout


def _run(
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
