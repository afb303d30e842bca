"""The deployer's background loop: judge every running canary, every few seconds.

Which canaries run is read from the edge's route table (each route names its tenant and site);
what each one is, from the site's events (``Releasing.watch_once`` reloads the site). A deployer
killed mid-canary finds them again here when it starts: nothing is kept in memory between turns.
"""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID

import httpx

from bdg_deployer.edge.routes import read_table
from bdg_deployer.releasing import Releasing
from bdg_jobs.errors import DomainError

log = logging.getLogger("bdg_deployer.canary")
INTERVAL_S = 2.0


async def watch_running(releasing: Releasing) -> int:
    """One turn over the running canaries; how many were judged."""
    table = await asyncio.to_thread(read_table, releasing.edge.routes)
    judged = 0
    for name, route in table.sites.items():
        if route.canary is None or route.site_id is None or route.tenant is None:
            continue
        try:
            decided = await releasing.watch_once(route.tenant, UUID(route.site_id))
        except (httpx.HTTPError, DomainError) as error:  # the edge is back next turn
            log.warning("canary of %s: %s", name, error)
            continue
        if decided is not None:
            judged += 1
            log.info("canary of %s: %s", name, decided.__name__)
    return judged


async def watch_canaries(releasing: Releasing, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await watch_running(releasing)
        try:
            await asyncio.wait_for(stop.wait(), INTERVAL_S)
        except TimeoutError:
            continue
