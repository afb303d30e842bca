"""Workspaces on disk: one directory per (tenant, workspace), built from a base and patches.

Layout under ``root``: ``<tenant>/<workspace>/`` is the tree the sandbox sees (mounted at
/workspace, owned by uid 65534); ``<tenant>/.manifests/<workspace>.json`` records how it was
built (source, commit, patch hashes) and ``<workspace>.patches/`` the patches, so any host can
rebuild it; ``<tenant>/.staging/`` holds trees being built, renamed into place when complete.
Synchronous: the daemon calls it from a thread. Operations of one tenant are serialized.

A workspace's source is judged for the tenant it belongs to, whoever asks (a job, the gateway's
sandbox proxy, a service): a local repository must lie under a root granted to that tenant (the
grants file the gateway reads, bdg_contracts.sources), and a clone URL's host must not be an
internal address unless the operator allows it (bdg_contracts.clone_hosts), resolved right
before git runs.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import stat
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from errno import EDQUOT, ENOSPC
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from bdg_contracts.clone_dns import NO_REDIRECTS, check_host
from bdg_contracts.clone_hosts import CloneHosts
from bdg_contracts.sandbox import FileEntry, Source
from bdg_contracts.sources import (
    SourceError,
    SourceGrantsError,
    SourceRules,
    load_grants,
    load_tenant_grants,
)
from bdg_sandboxd import patches as git
from bdg_sandboxd.copies import copy_entry, remove_entry, size_of
from bdg_sandboxd.paths import WorkspaceError, invalid, list_tree, resolve, scan, subdir

__all__ = ["Manifest", "WorkspaceError", "Workspaces"]

SANDBOX_OWNER = (65534, 65534)
TENANT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
WORKSPACE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$")  # no leading dot
WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class Manifest(BaseModel):
    """How a workspace was built; ``patches`` are sha256 hashes, in order."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    repo: str
    requested_commit: str
    commit: str  # what was checked out ("" for an empty or copied directory)
    patches: list[str]
    created_with: int  # how many of ``patches`` came with the create request
    edited: bool = False  # written or deleted directly: the patches alone no longer rebuild it

    @property
    def created_patches(self) -> list[str]:
        return self.patches[: self.created_with]


class Workspaces:
    def __init__(
        self,
        root: Path,
        quota_mb_per_tenant: int,
        *,
        owner: tuple[int, int] | None = SANDBOX_OWNER,
        source_roots: Sequence[Path] = (),
        state_dirs: Sequence[Path] = (),
        state_exceptions: Sequence[Path] = (),
        grants: Path | None = None,
        clone_hosts: CloneHosts | None = None,
    ) -> None:
        """``owner`` applies only as root; ``source_roots``, if given, bounds local sources;
        ``state_dirs`` (but ``state_exceptions`` in them) are never sources, whatever the roots;
        ``grants``, the grants file (re-read at each check: grants change; no file, no grant):
        a tenant's local source must also lie under a root granted to it (None: the roots
        bound every tenant alike, for a single-tenant host); ``clone_hosts``: the internal
        hosts clone URLs may reach (None: public hosts only)."""
        self.root = root
        self.quota_bytes = quota_mb_per_tenant * 1024 * 1024
        self.owner = owner if os.geteuid() == 0 else None
        self.source_roots = [p.resolve() for p in source_roots]
        self.state_dirs = [p.resolve() for p in (root, *state_dirs)]
        self.state_exceptions = [p.resolve() for p in state_exceptions]
        self.grants, self.clone_hosts = grants, clone_hosts or CloneHosts()
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # -- whole workspaces ------------------------------------------------------------------------
    def create(self, tenant: str, workspace: str, source: Source, patches: list[str]) -> str:
        """Build the workspace; the commit checked out ("" when not from git)."""
        tree = self._tree(tenant, workspace, must_exist=False)
        hashes = [git.patch_hash(p) for p in patches]
        with self._lock(tenant):
            if tree.exists() or tree.is_symlink():
                m = self._manifest(tenant, workspace)
                asked = (source.repo, source.commit, hashes)
                if m is not None and (m.repo, m.requested_commit, m.created_patches) == asked:
                    return m.commit
                raise WorkspaceError("conflict", f"workspace {workspace!r} exists, built otherwise")
            staging = self._tenant_dir(tenant) / ".staging" / f"{workspace}.{secrets.token_hex(4)}"
            staging.parent.parent.mkdir(mode=0o711, parents=True, exist_ok=True)
            staging.parent.mkdir(mode=0o700, exist_ok=True)
            try:
                commit = self._materialize(tenant, source, staging)
                git.apply_patches(staging, patches)
                self._check_quota(tenant, scan(staging, self.owner))
                manifest = Manifest(
                    repo=source.repo,
                    requested_commit=source.commit,
                    commit=commit,
                    patches=hashes,
                    created_with=len(hashes),
                )
                self._save(tenant, workspace, manifest, patches)
                staging.rename(tree)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            return commit

    def apply(self, tenant: str, workspace: str, patches: list[str]) -> None:
        tree = self._tree(tenant, workspace)
        with self._lock(tenant):
            git.apply_patches(tree, patches)
            try:
                self._check_quota(tenant, 0, owned=tree)  # and give new files to the sandbox
            except WorkspaceError:
                git.revert_patches(tree, patches)
                raise
            m = self._manifest(tenant, workspace)
            if m is not None:
                hashes = [*m.patches, *(git.patch_hash(p) for p in patches)]
                self._save(tenant, workspace, m.model_copy(update={"patches": hashes}), patches)

    def drop(self, tenant: str, workspace: str) -> bool:
        """Remove the workspace and its manifest; False if there was none (not an error)."""
        tree = self._tree(tenant, workspace, must_exist=False)
        manifests = self._tenant_dir(tenant) / ".manifests"
        with self._lock(tenant):
            existed = tree.exists()
            shutil.rmtree(tree, ignore_errors=True)
            shutil.rmtree(manifests / f"{workspace}.patches", ignore_errors=True)
            (manifests / f"{workspace}.json").unlink(missing_ok=True)
            return existed

    def path_of(self, tenant: str, workspace: str) -> Path:
        """The host directory the backends mount at /workspace."""
        return self._tree(tenant, workspace)

    def manifest(self, tenant: str, workspace: str) -> Manifest:
        self._tree(tenant, workspace)
        m = self._manifest(tenant, workspace)
        if m is None:
            raise WorkspaceError("not_found", f"workspace {workspace!r} has no manifest")
        return m

    def recipe(self, tenant: str, workspace: str) -> tuple[Source, list[str]]:
        """The source (pinned to the commit checked out) and patches that rebuild it."""
        m = self.manifest(tenant, workspace)
        store = self._tenant_dir(tenant) / ".manifests" / f"{workspace}.patches"
        patches = [(store / f"{h}.diff").read_text() for h in m.patches]
        return Source(repo=m.repo, commit=m.commit or m.requested_commit), patches

    def rebuild(self, tenant: str, workspace: str, other: Workspaces) -> str:
        """Create this workspace in ``other`` (another root, another host) from its recipe."""
        source, patches = self.recipe(tenant, workspace)
        return other.create(tenant, workspace, source, patches)

    # -- files -----------------------------------------------------------------------------------
    def write(self, tenant: str, workspace: str, path: str, content: bytes) -> None:
        """Replace ``path`` (a symlink there is replaced, not followed); makes parents."""
        tree = self._tree(tenant, workspace)
        with self._lock(tenant):
            old, mode = self._existing(tree, path)
            self._check_quota(tenant, len(content) - old)
            with resolve(tree, path, follow_last=False, create_parents=True, owner=self.owner) as r:
                if r.name is None:
                    raise invalid("cannot write the workspace root")
                tmp = f".bdg-write-{secrets.token_hex(6)}"
                fd = os.open(tmp, WRITE_FLAGS, mode, dir_fd=r.parent)
                try:
                    with os.fdopen(fd, "wb", closefd=False) as f:
                        f.write(content)
                    os.fchmod(fd, mode)
                    if self.owner is not None:
                        os.fchown(fd, *self.owner)
                    os.replace(tmp, r.name, src_dir_fd=r.parent, dst_dir_fd=r.parent)
                except BaseException:
                    with suppress(OSError):
                        os.unlink(tmp, dir_fd=r.parent)
                    raise
                finally:
                    os.close(fd)
            self._mark_edited(tenant, workspace)

    def copy(self, tenant: str, workspace: str, source: str, path: str) -> None:
        """Copy ``path`` (a file, a link or a directory with its contents) from the tenant's
        workspace ``source`` to the same path here, which must not exist yet (copies.py)."""
        origin, tree = self._tree(tenant, source), self._tree(tenant, workspace)
        if origin == tree:
            raise invalid("a workspace cannot be copied into itself")
        with self._lock(tenant), resolve(origin, path, follow_last=False) as src:
            if src.name is None:
                raise invalid("cannot copy the workspace root")
            try:
                st = os.lstat(src.name, dir_fd=src.parent)
            except FileNotFoundError:
                raise WorkspaceError("not_found", f"{path!r} does not exist") from None
            self._check_quota(tenant, size_of(src.parent, src.name, st))
            with resolve(tree, path, follow_last=False, create_parents=True, owner=self.owner) as r:
                if r.name is None:
                    raise invalid("cannot copy onto the workspace root")
                with suppress(FileNotFoundError):
                    os.lstat(r.name, dir_fd=r.parent)
                    raise WorkspaceError("conflict", f"{path!r} exists in {workspace!r}")
                tmp = f".bdg-copy-{secrets.token_hex(6)}"
                try:
                    copy_entry(src.parent, src.name, st, r.parent, tmp, self.owner)
                    os.rename(tmp, r.name, src_dir_fd=r.parent, dst_dir_fd=r.parent)
                except BaseException as error:
                    remove_entry(r.parent, tmp)
                    if isinstance(error, OSError) and error.errno in (ENOSPC, EDQUOT):
                        raise WorkspaceError("quota", f"tenant {tenant!r}: disk full") from None
                    raise
            self._mark_edited(tenant, workspace)

    def read(self, tenant: str, workspace: str, path: str, max_bytes: int | None = None) -> bytes:
        with resolve(self._tree(tenant, workspace), path, follow_last=True) as r:
            if r.name is None:
                raise invalid(f"{path!r} is a directory")
            try:
                fd = os.open(r.name, READ_FLAGS, dir_fd=r.parent)
            except OSError as e:
                raise invalid(f"cannot open {path!r}: {e.strerror}") from None
            with os.fdopen(fd, "rb") as f:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    raise invalid(f"{path!r} is not a regular file")
                if max_bytes is not None and st.st_size > max_bytes:
                    raise invalid(f"{path!r} has {st.st_size} bytes, over {max_bytes}")
                return f.read()

    def list(self, tenant: str, workspace: str, path: str = ".") -> list[FileEntry]:
        """Everything under ``path``, recursively, relative to the workspace; no ``.git``."""
        with resolve(self._tree(tenant, workspace), path, follow_last=True) as r:
            if r.name is None:
                return list_tree(r.parent, f"{r.path}/" if r.path else "")
            st = os.lstat(r.name, dir_fd=r.parent)
            if not stat.S_ISDIR(st.st_mode):
                return [FileEntry(path=r.path, size=st.st_size, is_dir=False)]
            with subdir(r.parent, r.name) as sub:
                return list_tree(sub, f"{r.path}/")

    def delete(self, tenant: str, workspace: str, path: str) -> None:
        """Remove a file, a symlink (not its target) or a directory with its contents."""
        tree = self._tree(tenant, workspace)
        with self._lock(tenant):
            with resolve(tree, path, follow_last=False) as r:
                if r.name is None:
                    raise invalid("cannot delete the workspace root (drop the workspace)")
                try:
                    st = os.lstat(r.name, dir_fd=r.parent)
                except FileNotFoundError:
                    raise WorkspaceError("not_found", f"{path!r} does not exist") from None
                if stat.S_ISDIR(st.st_mode):
                    shutil.rmtree(r.name, dir_fd=r.parent)
                else:
                    os.unlink(r.name, dir_fd=r.parent)
            self._mark_edited(tenant, workspace)

    # -- internals -------------------------------------------------------------------------------
    def _tenant_dir(self, tenant: str) -> Path:
        if not TENANT.match(tenant):
            raise invalid(f"bad tenant id {tenant!r}")
        return self.root / tenant

    def _tree(self, tenant: str, workspace: str, must_exist: bool = True) -> Path:
        if not WORKSPACE.match(workspace):
            raise invalid(f"bad workspace id {workspace!r}")
        tree = self._tenant_dir(tenant) / workspace
        if must_exist and not tree.is_dir():
            raise WorkspaceError("not_found", f"no workspace {workspace!r} for {tenant!r}")
        return tree

    @contextmanager
    def _lock(self, tenant: str) -> Iterator[None]:
        with self._locks_guard:
            lock = self._locks.setdefault(tenant, threading.Lock())
        with lock:
            yield

    def _usage(self, tenant: str, owned: Path | None = None) -> int:
        """Bytes in the tenant's workspaces; chowns ``owned`` to the sandbox on the way."""
        base = self._tenant_dir(tenant)
        if not base.is_dir():
            return 0
        trees = [p for p in base.iterdir() if not p.name.startswith(".") and p.is_dir()]
        return sum(scan(p, self.owner if p == owned else None) for p in trees)

    def _check_quota(self, tenant: str, extra: int, owned: Path | None = None) -> None:
        used = self._usage(tenant, owned) + extra
        if used > self.quota_bytes:
            raise WorkspaceError(
                "quota", f"tenant {tenant!r} would use {used} bytes, quota {self.quota_bytes}"
            )

    def _existing(self, tree: Path, path: str) -> tuple[int, int]:
        """Size and mode of what ``write`` would replace (0, 0o644 when nothing is there)."""
        try:
            with resolve(tree, path, follow_last=False) as r:
                if r.name is None:
                    raise invalid("cannot write the workspace root")
                st = os.lstat(r.name, dir_fd=r.parent)
        except (WorkspaceError, FileNotFoundError) as e:
            if isinstance(e, WorkspaceError) and e.code != "not_found":
                raise
            return 0, 0o644
        if stat.S_ISDIR(st.st_mode):
            raise invalid(f"{path!r} is a directory")
        if stat.S_ISREG(st.st_mode):
            return st.st_size, stat.S_IMODE(st.st_mode)
        return 0, 0o644

    def _materialize(self, tenant: str, source: Source, dest: Path) -> str:
        if not source.repo:
            dest.mkdir(mode=0o755)
            return ""
        if git.is_url(source.repo):
            local = git.file_url_path(source.repo)
            if local is not None:
                self._local_source(tenant, str(local))
                return git.checkout(source.repo, source.commit, dest)
            remote = self._remote(tenant, source.repo)
            return git.checkout(source.repo, source.commit, dest, remote)
        real = self._local_source(tenant, source.repo)
        return git.checkout(str(real), source.commit, dest)

    def _remote(self, tenant: str, url: str) -> tuple[str, ...]:
        """git options for fetching ``url``: its host judged now (with the internal hosts allowed
        to everyone and to ``tenant`` in the grants file), git held to what was judged."""
        allowed = self.clone_hosts
        if self.grants is not None:
            try:
                own = load_tenant_grants(self.grants).get(tenant)
            except SourceGrantsError as error:
                raise WorkspaceError("internal", str(error)) from None
            allowed = allowed if own is None else allowed.merged(own.clone_hosts)
        try:
            checked = check_host(url, allowed)
        except SourceError as error:
            raise invalid(f"source {url!r}: {error.message}") from None
        return NO_REDIRECTS if checked is None else checked.git_config()

    def _local_source(self, tenant: str, repo: str) -> Path:
        """A host repository a workspace may start from: the top of a git work tree (or a bare
        repository) under the source roots and the roots granted to ``tenant``; never another
        workspace, never the state dirs."""
        local = Path(repo)
        if not local.is_absolute():
            raise invalid(f"local source {repo!r} must be an absolute path")
        real = local.resolve()
        if real.is_relative_to(self.root.resolve()):
            raise invalid(f"source {repo!r} is inside the workspaces' own directory")
        rules = self._rules()
        self._readable(rules, tenant, real, repo)
        if not real.is_dir():
            raise WorkspaceError("not_found", f"source {repo!r} is not a directory")
        dirs = git.repo_dirs(real)
        if dirs is None:
            raise invalid(f"source {repo!r} is not the top of a git work tree")
        for found in dirs:  # a worktree's .git file may point anywhere
            self._readable(rules, tenant, found, f"{repo!r}'s git directory {str(found)!r}")
        return real

    def _rules(self) -> SourceRules | None:
        """The grants as the file says now (None: no grants file configured)."""
        if self.grants is None:
            return None
        try:
            grants = load_grants(self.grants)
        except SourceGrantsError as error:
            raise WorkspaceError("internal", str(error)) from None
        return SourceRules(grants, tuple(self.state_dirs), tuple(self.state_exceptions))

    def _readable(self, rules: SourceRules | None, tenant: str, real: Path, what: str) -> None:
        judge = rules or SourceRules({}, tuple(self.state_dirs), tuple(self.state_exceptions))
        if judge.in_state(real):
            raise invalid(f"source {what} is in a state dir (BDG_HOME): never a source")
        if self.source_roots and not any(real.is_relative_to(r) for r in self.source_roots):
            raise invalid(f"source {what} is outside the allowed source roots")
        if rules is not None and not rules.granted(tenant, real):
            raise invalid(
                f"source {what} is outside the roots granted to tenant {tenant!r} "
                "(BDG_SOURCE_GRANTS)"
            )

    def _manifest(self, tenant: str, workspace: str) -> Manifest | None:
        path = self._tenant_dir(tenant) / ".manifests" / f"{workspace}.json"
        try:
            return Manifest.model_validate_json(path.read_bytes())
        except FileNotFoundError:
            return None

    def _save(self, tenant: str, workspace: str, m: Manifest, patches: Sequence[str]) -> None:
        manifests = self._tenant_dir(tenant) / ".manifests"
        store = manifests / f"{workspace}.patches"
        store.mkdir(mode=0o700, parents=True, exist_ok=True)
        for patch in patches:
            (store / f"{git.patch_hash(patch)}.diff").write_text(patch)
        tmp = manifests / f".{workspace}.json.{secrets.token_hex(4)}"
        tmp.write_text(m.model_dump_json())
        tmp.replace(manifests / f"{workspace}.json")

    def _mark_edited(self, tenant: str, workspace: str) -> None:
        m = self._manifest(tenant, workspace)
        if m is not None and not m.edited:
            self._save(tenant, workspace, m.model_copy(update={"edited": True}), ())
