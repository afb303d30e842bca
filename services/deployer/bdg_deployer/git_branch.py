"""The default deploy step: the job's change delivered as a branch of its repository.

``bdg/<job>`` is the base commit the job pinned (or, when none was, its base ref now) plus every
FilesChanged patch in order, committed by a fixed bot identity at the deploy approval's time. The
same job gives the same commit, so a redelivery finds the branch already there and writes
nothing. git runs only on a scratch repository of the deployer's own (its config, no hooks), which
reads the job's objects as an alternate; what it made is copied in as files (git_refs.py).

A job whose repository is a clone URL gets its branch in the deployer's own clone of that URL,
``<BDG_HOME>/deploys/<tenant>/<name>-<hash>.git``; when the URL lies under a git host the
operator configured for the tenant (``BDG_GIT_HOSTS``, pull_requests/hosts.py), the branch is
pushed there with the host's token and a pull request is opened for it (or the open one found),
its URL in ``Deployed``. A job with no repository (its workspace started empty) gets a
repository of its own there, ``<BDG_HOME>/deploys/<tenant>/job-<id>.git``, its branch a first
commit with the job's files.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import tempfile
from pathlib import Path

import httpx

from bdg_contracts import events as ev
from bdg_deployer.adapters import AbstractDeployProvider
from bdg_deployer.domain import (
    Deployment,
    DeployTask,
    Release,
    branch_name,
    describe_paths,
    pull_request_text,
)
from bdg_deployer.git_refs import (
    HASH,
    GitDir,
    RepositoryError,
    copy_objects,
    delete_ref,
    find_git_dir,
    read_ref,
    resolve_name,
    write_ref,
)
from bdg_deployer.git_scratch import BOT_NAME, commit, fetch_base, git, init_bare, object_format
from bdg_deployer.pull_requests.api import DIALECTS, open_pull_request
from bdg_deployer.pull_requests.hosts import GitHosts, HostRepo
from bdg_deployer.pull_requests.push import credentials, push_branch

URL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://|[\w.-]+@[\w.-]+:)")


def is_url(repo: str) -> bool:
    return URL.match(repo) is not None


def clone_path(clones: Path, tenant: str, url: str) -> Path:
    """The deployer's clone of ``url``: one per tenant and URL, named so people find it."""
    tail = re.sub(r"[^A-Za-z0-9._-]", "-", url.rstrip("/").rsplit("/", 1)[-1])
    name = tail.removesuffix(".git")[:40] or "repo"
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return clones / tenant / f"{name}-{digest}.git"


class GitBranchDeployer(AbstractDeployProvider):
    def __init__(self, clones: Path, hosts: GitHosts | None = None) -> None:
        self.clones = clones
        self.hosts = hosts or GitHosts()

    def _host_repo(self, task: DeployTask) -> HostRepo | None:
        repo = task.change.repo
        return self.hosts.repo_of(task.tenant_id, repo) if is_url(repo) else None

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
        host = self._host_repo(task)
        if host is not None:
            asked = DIALECTS[host.host.kind].noun
            target += f", pushed to {host.clone_url} with a {host.host.kind} {asked}"
        preview = (
            f"{len(change.patches)} patch(es) on {base} committed by {BOT_NAME}: "
            f"{describe_paths(change.paths)}"
        )
        return Release(target, preview)

    async def deploy(self, task: DeployTask) -> Deployment:
        delivered = await asyncio.to_thread(self._deliver, task)
        host = self._host_repo(task)
        if host is None:
            return Deployment(f"file://{delivered.repository}#{delivered.branch}", branch=delivered)
        clone = clone_path(self.clones, task.tenant_id, task.change.repo)
        await asyncio.to_thread(push_branch, clone, host, delivered.branch, delivered.commit)
        base = task.change.base_ref.removeprefix("refs/heads/")
        title, body = pull_request_text(task)
        async with httpx.AsyncClient(timeout=30) as http:
            url = await open_pull_request(http, host, delivered.branch, base, title, body)
        return Deployment(url, branch=delivered.model_copy(update={"pull_request": url}))

    async def roll_back(self, task: DeployTask) -> str:
        """The branch goes again if it still names the job's commit; nothing serves after."""
        d = task.delivered
        if d is not None:
            git_dir = await asyncio.to_thread(self._git_dir, task)
            await asyncio.to_thread(delete_ref, git_dir.path, f"refs/heads/{d.branch}", d.commit)
        return ""

    async def git_dir(self, task: DeployTask) -> GitDir:
        """The repository the job's branch is delivered to (the site's build reads it)."""
        return await asyncio.to_thread(self._git_dir, task)

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

    async def commit_of(self, task: DeployTask) -> tuple[GitDir, str]:
        """The commit the job's branch would name, its objects in the target repository but no
        branch written (a site is built from it before the deploy is approved)."""
        return await asyncio.to_thread(self._commit, task)

    def _commit(self, task: DeployTask) -> tuple[GitDir, str]:
        change = task.change
        base = change.base_commit
        if base and not HASH.match(base):  # a commit id, never anything git would read otherwise
            raise RepositoryError(f"the job's base commit {base!r} is no commit id")
        if is_url(change.repo):
            host = self._host_repo(task)
            secret = credentials(host) if host is not None else None
            clone = clone_path(self.clones, task.tenant_id, change.repo)
            base = fetch_base(clone, change, secret)
        target = self._git_dir(task)
        if not change.repo:
            init_bare(target.path)
        elif not base:
            base = resolve_name(target.path, change.base_ref) or ""
            if not base:
                raise RepositoryError(f"{change.base_ref!r} names no commit in {target.shown}")
        with tempfile.TemporaryDirectory(prefix="bdg-deliver-") as tmp:
            scratch = Path(tmp) / "scratch.git"
            form = f"--object-format={object_format(target)}"
            git(Path(tmp), "init", "-q", "--bare", form, str(scratch))
            alternates = scratch / "objects" / "info" / "alternates"
            alternates.write_text(f"{(target.path / 'objects').resolve()}\n")
            sha = commit(scratch, task, base)
            copy_objects(scratch / "objects", target.path)  # objects only: no branch yet
        return target, sha

    def _deliver(self, task: DeployTask) -> ev.DeliveredBranch:
        target, sha = self._commit(task)
        branch = branch_name(task.job_id)
        ref = f"refs/heads/{branch}"
        existing = read_ref(target.path, ref)
        if existing is not None and existing != sha:
            raise RepositoryError(
                f"branch {branch} already exists in {target.shown} at {existing}, not at this "
                f"job's commit {sha}: delete or rename it, then retry the step"
            )
        if existing is None:
            write_ref(target.path, ref, sha)
        return ev.DeliveredBranch(repository=target.shown, branch=branch, commit=sha)
