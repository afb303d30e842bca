"""Sites for people: the read model's listings, and one-click promote and rollback by release
name. Shared by the gateway (sites API) and the CLI (``bdg deploy``), as ``JobCommands`` is.

Listings come from ``bdg_sites``/``bdg_site_releases`` (eventually consistent); a site's detail
and the answer of a promote or rollback are folded from its log, so they show the write just
made. Every read is scoped to the caller's tenant: another tenant's site or release is not found.
After a promote or rollback is appended, a deployer is asked to put it into effect before the
answer (``SiteFollowing``: the edge's route written, the cloud's move started); with no deployer
answering, its canary watch writes the route from the events within a turn.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool

from bdg_contracts import release_events as rv
from bdg_contracts.ids import new_event_id
from bdg_jobs.aggregate import Cause
from bdg_jobs.site_commands import SiteCommands, SiteNotFoundError
from bdg_jobs.site_reading.views import SiteView
from bdg_jobs.sites import Site
from bdg_jobs.user_commands import Caller

MAX_SITES = 500  # a tenant's listing is capped server-side
_NAME = re.compile(rv.NAME)


class ReleaseNotFoundError(SiteNotFoundError):
    """No release of this name in this tenant."""


class SiteFollowing(Protocol):
    async def follow(self, tenant: str, site_id: UUID, from_version: int) -> bool:
        """True once a deployer made the edge serve the site's events past ``from_version``."""
        ...


class NoFollowing:
    """Nobody to ask (a test of the listings alone): the deployer's watch follows."""

    async def follow(self, tenant: str, site_id: UUID, from_version: int) -> bool:
        return False


@dataclass(frozen=True)
class Acted:
    view: SiteView
    followed: bool  # the edge serves the decision already (else: within a watch turn)


class SiteReads:
    def __init__(
        self,
        sites: SiteCommands,
        pool: AsyncConnectionPool[Any],
        clock: Callable[[], datetime],
        following: SiteFollowing | None = None,
    ) -> None:
        self.sites, self.pool, self.clock = sites, pool, clock
        self.following = following or NoFollowing()

    async def list_sites(self, tenant: str) -> list[dict[str, Any]]:
        """The tenant's sites, most recently changed first."""
        async with self.pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            await cur.execute(
                "SELECT site FROM bdg_sites WHERE tenant = %s "
                "ORDER BY updated_at DESC NULLS LAST, site_id LIMIT %s",
                (tenant, MAX_SITES),
            )
            return [row[0] for row in await cur.fetchall()]

    async def view(self, tenant: str, site_id: UUID) -> SiteView:
        """The site as its log says now (``SiteNotFoundError`` for another tenant's)."""
        history = await asyncio.to_thread(self.sites.store.history, site_id)
        if not history or type(history[0]).aggregate != "site" or history[0].tenant_id != tenant:
            raise SiteNotFoundError(f"no site {site_id}")
        return SiteView.of(history)

    async def site_of_release(self, tenant: str, release: str) -> UUID:
        if _NAME.fullmatch(release) is None:
            raise ReleaseNotFoundError(f"no release {release[:100]!r}")
        async with self.pool.connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            await cur.execute(
                "SELECT site_id FROM bdg_site_releases WHERE tenant = %s AND release = %s",
                (tenant, release),
            )
            row = await cur.fetchone()
        if row is None:
            raise ReleaseNotFoundError(f"no release {release}")
        return UUID(str(row[0]))

    async def promote(self, caller: Caller, release: str, note: str = "") -> Acted:
        """``release`` serves the production URL; ``SiteStateError`` (409) when it cannot now."""
        reason = rv.ManualReason(by=caller.user_id, note=note)
        return await self._act(caller, release, lambda s, c: s.promote(c, release, reason))

    async def roll_back(self, caller: Caller, release: str, note: str = "") -> Acted:
        """A canary stops getting traffic; a serving release gives way to the one before."""
        reason = rv.ManualReason(by=caller.user_id, note=note)
        return await self._act(caller, release, lambda s, c: s.roll_back(c, release, reason))

    async def _act(
        self, caller: Caller, release: str, decide: Callable[[Site, Cause], None]
    ) -> Acted:
        tenant = caller.tenant_id
        site_id = await self.site_of_release(tenant, release)
        before: list[int] = []

        def deciding(site: Site) -> None:
            before[:] = [site.version]  # the last try's: the one appended
            decide(site, self._cause(caller))

        await self.sites.execute(tenant, site_id, deciding)
        followed = await self.following.follow(tenant, site_id, before[0])
        return Acted(await self.view(tenant, site_id), followed)

    def _cause(self, caller: Caller) -> Cause:
        return Cause(f"user:{caller.user_id}", self.clock(), new_event_id(), caller.user_id)
