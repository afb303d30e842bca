"""Which execs hold a tenant's cache, and its quota: checked when the last of them ends.

The size is checked once no exec of the tenant has the cache mounted (a busy tenant's cache is
checked at its next quiet moment); over the quota, the whole cache is cleared, never half of it
while an install reads it. An exec that asks for the cache meanwhile waits for the check.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bdg_sandboxd.caches import Caches

log = logging.getLogger(__name__)


class CacheLeases:
    def __init__(self, caches: Caches) -> None:
        self.caches = caches
        self._holders: Counter[str] = Counter()
        self._checks: dict[str, asyncio.Task[None]] = {}

    @asynccontextmanager
    async def lease(self, tenant: str) -> AsyncIterator[Path]:
        """The tenant's cache directory, for as long as the exec that mounts it runs."""
        while (check := self._checks.get(tenant)) is not None:
            await asyncio.shield(check)  # a cancelled exec must not cancel the check
        self._holders[tenant] += 1
        try:
            yield await asyncio.to_thread(self.caches.path, tenant)
        finally:
            self._holders[tenant] -= 1
            if not self._holders[tenant]:
                del self._holders[tenant]
                # A task, not an await: the exec may be ending by cancellation.
                if tenant not in self._checks:
                    self._checks[tenant] = asyncio.ensure_future(self._check(tenant))

    async def idle(self) -> None:
        """Wait for the quota checks under way (tests, shutdown)."""
        while self._checks:
            await asyncio.gather(*self._checks.values(), return_exceptions=True)

    async def _check(self, tenant: str) -> None:
        try:
            used = await asyncio.to_thread(self.caches.over_quota, tenant)
            if used is not None:
                log.info(
                    "cache of %s: %d bytes, over the quota of %d: cleared",
                    tenant,
                    used,
                    self.caches.quota_bytes,
                )
                await asyncio.to_thread(self.caches.clear, tenant)
        except Exception:
            log.exception("cache of %s: the quota check failed", tenant)
        finally:
            self._checks.pop(tenant, None)
