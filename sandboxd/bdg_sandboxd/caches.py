"""Per-tenant package caches: ``<root>/<tenant>/``, mounted read-write at /cache for execs that
ask for it (``Exec.cache``), so a tenant's repeated installs reuse what they downloaded.

``<root>`` is root's (0711: the sandbox user may pass, never list or write); each tenant's
directory is the sandbox user's (0700), made before its first mount so a tenant can never
replace it by a symlink. Only execs of that tenant get it mounted: tenants never see each other's.
Nothing here follows a link the sandbox made: sizes come from fd-relative walks (paths.scan) and
clearing renames the directory away, then removes it with shutil.rmtree (which does not follow).
Synchronous file system work: the daemon calls it from a thread (see CacheLeases).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import threading
from pathlib import Path

from bdg_sandboxd.paths import invalid, scan

SANDBOX_OWNER = (65534, 65534)
TENANT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TRASH_PREFIX = ".trash-"  # a cleared cache on its way out (not a tenant: ids have no dot)


class Caches:
    def __init__(
        self, root: Path, quota_mb_per_tenant: int, owner: tuple[int, int] | None = SANDBOX_OWNER
    ) -> None:
        """``owner`` applies only as root (else the sandbox user maps to ours)."""
        self.root = root
        self.quota_bytes = quota_mb_per_tenant * 1024 * 1024
        self.owner = owner if os.geteuid() == 0 else None
        self._making = threading.Lock()  # another exec must not mount it before the chown

    def path(self, tenant: str) -> Path:
        """The tenant's cache directory, made (empty, the sandbox's) on first use."""
        directory = self._dir(tenant)
        with self._making:
            self.root.mkdir(mode=0o711, parents=True, exist_ok=True)
            try:
                directory.mkdir(mode=0o700)
            except FileExistsError:
                return directory
            if self.owner is not None:
                os.chown(directory, *self.owner, follow_symlinks=False)
        return directory

    def usage(self, tenant: str) -> int:
        """Bytes in the tenant's cache (0 when it has none)."""
        directory = self._dir(tenant)
        return scan(directory) if directory.is_dir() else 0

    def tenants(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if TENANT.match(p.name) and p.is_dir())

    def clear(self, tenant: str) -> bool:
        """Remove the tenant's cache; False when there was none. The next exec that asks for
        the cache gets a new, empty one."""
        directory = self._dir(tenant)
        trash = self.root / f"{TRASH_PREFIX}{tenant}.{secrets.token_hex(4)}"
        try:
            directory.rename(trash)  # at once: no exec ever mounts a half-removed cache
        except FileNotFoundError:
            return False
        shutil.rmtree(trash, ignore_errors=True)
        return True

    def over_quota(self, tenant: str) -> int | None:
        """The cache's size when it exceeds the quota, else None."""
        used = self.usage(tenant)
        return used if used > self.quota_bytes else None

    def _dir(self, tenant: str) -> Path:
        if not TENANT.match(tenant):
            raise invalid(f"bad tenant id {tenant!r}")
        return self.root / tenant
