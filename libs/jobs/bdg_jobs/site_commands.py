"""Use cases over a site: load it, create it once, decide and append with conflict retries.

Shared by the deployer (builds, canaries) and, next, the gateway and CLI (listings, one-click
promote and rollback), as ``RepoCommands`` is for repositories. A site's events share the job log.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from uuid import UUID

from bdg_contracts import release_events as rv
from bdg_jobs.aggregate import Cause
from bdg_jobs.application import NoPublisher, Publisher
from bdg_jobs.errors import ConcurrencyConflictError, DomainError
from bdg_jobs.sites import Site
from bdg_jobs.store import JobStore, Recorded


class SiteNotFoundError(DomainError):
    """No site of this id in this tenant."""


class SiteCommands:
    def __init__(
        self, store: JobStore, publisher: Publisher | None = None, max_conflict_retries: int = 10
    ) -> None:
        self.store, self.publisher = store, publisher or NoPublisher()
        self.max_conflict_retries = max_conflict_retries

    def _load(self, site_id: UUID) -> Site:
        history = self.store.history(site_id)
        if not history or type(history[0]).aggregate != "site":
            raise SiteNotFoundError(f"no site {site_id}")
        return Site.replay(history)

    async def get(self, tenant_id: str, site_id: UUID) -> Site:
        site = await asyncio.to_thread(self._load, site_id)
        if site.tenant_id != tenant_id:  # another tenant's site is no site at all
            raise SiteNotFoundError(f"no site {site_id}")
        return site

    async def ensure(self, tenant_id: str, cause: Cause, repo: str, target: str) -> Site:
        """The site of (tenant, repo, target), created on first use."""
        site_id = rv.site_id(tenant_id, repo, target)
        try:
            return await self.get(tenant_id, site_id)
        except SiteNotFoundError:
            site = Site.create(tenant_id, cause, repo, target)
        # Created by someone else at the same moment: theirs is as good.
        with contextlib.suppress(ConcurrencyConflictError):
            await self._append(site)
        return await self.get(tenant_id, site_id)

    async def execute(
        self, tenant_id: str, site_id: UUID, decide: Callable[[Site], None]
    ) -> list[Recorded]:
        """Load, decide, append; a version conflict reloads and decides again."""
        for _ in range(self.max_conflict_retries):
            site = await self.get(tenant_id, site_id)
            decide(site)
            try:
                return await self._append(site)
            except ConcurrencyConflictError:
                continue
        raise ConcurrencyConflictError(f"site {site_id}: too many concurrent writers")

    async def _append(self, site: Site) -> list[Recorded]:
        events = site.collect()
        if not events:
            return []
        recorded = await asyncio.to_thread(self.store.append, events)
        # Committed is what counts; the relay publishes what this could not.
        with contextlib.suppress(Exception):
            await self.publisher.publish(recorded)
        return recorded
