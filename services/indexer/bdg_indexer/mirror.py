"""Git working copies of the indexed repositories: one clone per repository, per tenant.

Layout: ``<root>/<tenant>/<repo id>``. A source is a clone URL or the top of a local work tree
under a root granted to the repository's tenant (bdg_jobs.sources): checked when it is
registered, and again here before git reads it (grants change; the state dir, this one included,
is never a source). A clone URL's host is resolved and judged right before each clone and fetch
(bdg_contracts.clone_dns: no internal address unless the operator allows it), git is pinned to
the addresses judged and follows no redirect. git runs with argument lists (never a shell),
``--`` before the source, no prompts, the ``ext`` transport refused, and a timeout on every call.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import uuid
from pathlib import Path

from bdg_contracts.clone_dns import NO_REDIRECTS, check_host_async
from bdg_contracts.ids import check_tenant
from bdg_indexer.domain import redact
from bdg_jobs.sources import SourceError, SourceRules

_REPOSITORY_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR")
# Transports: an allow-list (``ext::`` would run a command; others are never needed).
_ALLOWED = ("https", "http", "ssh", "git", "file")
_SAFE = (
    "-c",
    "protocol.allow=never",
    *(arg for name in _ALLOWED for arg in ("-c", f"protocol.{name}.allow=always")),
    "-c",
    "core.hooksPath=/dev/null",
)
# Network trouble that a later delivery may not meet; anything else (no such repository, no
# such ref, authentication refused) is permanent.
_TRANSIENT = re.compile(
    r"could not resolve host|connection (timed out|refused|reset)|timed out|early eof"
    r"|remote end hung up|returned error: 5\d\d|temporary failure|network is unreachable",
    re.IGNORECASE,
)


class MirrorError(Exception):
    """git could not clone, fetch or check out; ``transient`` when trying later may work."""

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _REPOSITORY_VARIABLES}
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_ASKPASS="/bin/false",
        SSH_ASKPASS="/bin/false",
        GIT_SSH_COMMAND="ssh -o BatchMode=yes",
        LC_ALL="C",
    )
    return env


def check_source(source: str, tenant: str = "", rules: SourceRules | None = None) -> str:
    """The source as git gets it; MirrorError for what is not a repository address, or (with
    ``rules``) not one the tenant may name."""
    if not source or source.startswith("-") or "\0" in source or "\n" in source:
        raise MirrorError(f"{redact(source)!r} is not a repository URL or path")
    local = "://" not in source and not source.startswith("git@")
    if local and not Path(source).is_absolute():
        raise MirrorError(f"a local repository path must be absolute, not {source!r}")
    if local and not Path(source).exists() and Path(f"{source}.git").exists():
        source = f"{source}.git"  # registrations drop a trailing .git
    if rules is not None:
        try:
            return rules.check(tenant, source)
        except SourceError as error:
            raise MirrorError(f"{redact(source)!r} may not be read: {error.message}") from error
    return source


class Mirror:
    """The working copy of one repository: ``root/<tenant>/<repo id>``."""

    def __init__(
        self,
        root: Path,
        tenant: str,
        repo_id: uuid.UUID,
        source: str,
        timeout: float,
        rules: SourceRules | None = None,
    ) -> None:
        """``rules`` unset: any well-formed source (tools and tests, never the service)."""
        check_tenant(tenant)  # a path component: no '..', no '/'
        self.root, self.path = root / tenant, root / tenant / str(repo_id)
        self.tenant, self.source, self.timeout, self.rules = tenant, source, timeout, rules

    async def ensure(self) -> None:
        """Clone unless already cloned; a half-made clone (a crash) is made again. The source
        is judged every time: fetches read it too."""
        source = check_source(self.source, self.tenant, self.rules)
        if (self.path / ".git").is_dir():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        partial = self.root / f".{self.path.name}.{uuid.uuid4().hex[:8]}.partial"
        try:
            remote = await self._remote(source)
            await self._git(
                self.root, "clone", "--no-checkout", "--quiet", "--", source, partial, config=remote
            )
            shutil.rmtree(self.path, ignore_errors=True)
            partial.rename(self.path)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        # The clone of the layout before tenants had their folders (<root>/<repo id>) goes; a
        # tenant's folder of that name holds no .git of its own and stays.
        legacy = self.root.parent / self.path.name
        if (legacy / ".git").is_dir():
            shutil.rmtree(legacy, ignore_errors=True)

    async def fetch_ref(self, ref: str) -> str:
        """Fetch ``ref`` (``HEAD``, a branch, a tag, a full ref) and return its commit."""
        remote = await self._remote(self.source)
        await self._git(
            self.path, "fetch", "--quiet", "--force", "--no-tags", "origin", ref, config=remote
        )
        return (await self._git(self.path, "rev-parse", "--verify", "FETCH_HEAD^{commit}")).strip()

    async def ensure_commit(self, commit: str) -> None:
        """Make ``commit`` present: fetch the branches, else the commit itself."""
        if await self.has_commit(commit):
            return
        refspec = "+refs/heads/*:refs/remotes/origin/*"
        remote = await self._remote(self.source)
        fetch = ("fetch", "--quiet", "--no-tags")
        await self._git(self.path, *fetch, "--force", "origin", refspec, config=remote)
        if not await self.has_commit(commit):
            try:
                await self._git(self.path, *fetch, "origin", commit, config=remote)
            except MirrorError as error:
                if error.transient:
                    raise
        if not await self.has_commit(commit):
            raise MirrorError(f"commit {commit} is not in {redact(self.source)}")

    async def has_commit(self, commit: str) -> bool:
        return await self._ok("cat-file", "-e", f"{commit}^{{commit}}")

    async def is_ancestor(self, older: str, newer: str) -> bool:
        return await self._ok("merge-base", "--is-ancestor", older, newer)

    async def default_branch(self) -> str | None:
        """The remote's default branch as ``refs/heads/...`` (as of the clone)."""
        try:
            out = await self._git(self.path, "symbolic-ref", "--quiet", "refs/remotes/origin/HEAD")
        except MirrorError:
            return None
        return out.strip().replace("refs/remotes/origin/", "refs/heads/", 1)

    async def checkout(self, commit: str) -> None:
        await self._git(self.path, "checkout", "--quiet", "--detach", "--force", commit)
        await self._git(self.path, "clean", "-ffdq")  # nothing but the commit's files is read

    async def _remote(self, source: str) -> tuple[str, ...]:
        """git options for a command that reaches ``source``: its host judged just now (DNS may
        have changed since the registration) and git held to what was judged."""
        if self.rules is None:
            return NO_REDIRECTS
        try:
            checked = await check_host_async(source, self.rules.clone_hosts_for(self.tenant))
        except SourceError as error:
            transient = error.rule == "unresolved_host"  # DNS may come back; internal will not
            why = f"{redact(source)!r} may not be fetched: {error.message}"
            raise MirrorError(why, transient) from error
        return NO_REDIRECTS if checked is None else checked.git_config()

    async def _ok(self, *args: str) -> bool:
        try:
            await self._git(self.path, *args)
        except MirrorError as error:
            if error.transient:
                raise
            return False
        return True

    async def _git(self, cwd: Path, *args: str | Path, config: tuple[str, ...] = ()) -> str:
        argv = ["git", *_SAFE, *config, "-C", str(cwd), *map(str, args)]
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=_env(),
            )
        except FileNotFoundError as error:
            raise MirrorError("git is not installed (no 'git' on PATH)") from error
        try:
            out, err = await asyncio.wait_for(proc.communicate(), self.timeout)
        except TimeoutError:
            raise MirrorError(
                f"git {args[0]} of {redact(self.source)} timed out after {self.timeout:.0f}s",
                transient=True,
            ) from None
        finally:  # timed out, or the run was cancelled: no git left behind
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        if proc.returncode != 0:
            why = redact(err.decode(errors="replace").strip())[-1500:]
            transient = bool(_TRANSIENT.search(why))
            raise MirrorError(f"git {args[0]} of {redact(self.source)} failed: {why}", transient)
        return out.decode(errors="replace")
