"""The deployer's background loop: judge every running canary, every few seconds, and keep the
edge's route table, and what a cloud provider serves, equal to the sites' events.

Which sites there are is read from the route table (each route names its tenant and site); what
each one is, from its events. A deployer killed between appending a decision and writing the
route finds the difference here and writes the route (the events win); a deployer killed
mid-canary finds its canaries again when it starts: nothing is kept in memory between turns.
"""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID

import httpx

from bdg_deployer.edge.routes import SiteRoute, read_table, update_site
from bdg_deployer.providers.base import ProviderConfigError, ProviderError
from bdg_deployer.releasing import ReleaseRefusedError, Releasing
from bdg_deployer.site_routes import route_of
from bdg_jobs.errors import DomainError

log = logging.getLogger("bdg_deployer.canary")
INTERVAL_S = 2.0


async def watch_running(releasing: Releasing) -> int:
    """One turn over the running canaries; how many were judged."""
    table = await asyncio.to_thread(read_table, releasing.edge.routes)
    judged = 0
    for name, listed in table.sites.items():
        if listed.site_id is None or listed.tenant is None:
            continue
        tenant, site_id = listed.tenant, UUID(listed.site_id)
        try:
            route = await sync_route(releasing, name, listed, tenant, site_id)
        except DomainError as error:
            log.warning("route of %s: %s", name, error)
            continue
        await settle_provider(releasing, name, tenant, site_id)
        if route.canary is None:
            continue
        try:
            decided = await releasing.watch_once(tenant, site_id)
        except (httpx.HTTPError, DomainError, ReleaseRefusedError) as error:  # next turn
            log.warning("canary of %s: %s", name, error)
            continue
        if decided is not None:
            judged += 1
            log.info("canary of %s: %s", name, decided.__name__)
    return judged


async def settle_provider(releasing: Releasing, name: str, tenant: str, site_id: UUID) -> None:
    """A cloud serving another release, or running another canary stage, than the events say
    is moved to them (once per process for every site, and every turn after a provider
    refused): a deployer killed mid-canary resumes it, or completes or ends it, from the log."""
    if (tenant, site_id) in releasing.settled:
        return
    try:
        if await releasing.settle(tenant, site_id):
            log.info("provider of %s: moved to what the events say", name)
    except (ProviderError, ProviderConfigError, DomainError) as error:
        log.warning("provider of %s: %s", name, error)


async def sync_route(
    releasing: Releasing, name: str, route: SiteRoute, tenant: str, site_id: UUID
) -> SiteRoute:
    """The route as the site's events say; written when the table says otherwise. A decision
    that reached no deployer (appended by hand with none answering) is found here: its
    provider is settled too."""
    site = await releasing.sites.get(tenant, site_id)
    wanted = route_of(site)
    if not wanted.same_traffic(route):
        log.info("route of %s: from the events (%s -> %s)", name, route.canary, wanted.canary)
        if await asyncio.to_thread(update_site, releasing.edge.routes, name, wanted):
            releasing.settled.discard((tenant, site_id))
    return wanted


async def watch_canaries(releasing: Releasing, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await watch_running(releasing)
        try:
            await asyncio.wait_for(stop.wait(), INTERVAL_S)
        except TimeoutError:
            continue
