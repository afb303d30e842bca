"""Answers ``FollowSite`` (``subjects.site_follow()``, NATS request/reply): a promote or rollback
appended by the sites API or ``bdg deploy`` is put into effect before they answer.

The edge's route is written from the site's events, then the reply goes: the edge re-reads its
table on the next request, so the caller's next visit sees the decision. The cloud provider's
move (``providers/follow.py``, from the traffic at ``from_version``) runs after the reply: a
cloud's retries may take a minute, and a refusal is recorded as ``DeployFailed`` and settled by
the watch, as for the deployer's own decisions. Deployers share the subject in a queue group, so
each request is followed once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import ValidationError

from bdg_contracts import subjects
from bdg_contracts.site_follow import FollowSite, SiteFollowed
from bdg_deployer.providers.moves import Traffic
from bdg_deployer.releasing import ReleaseRefusedError, Releasing
from bdg_jobs.errors import DomainError

log = logging.getLogger("bdg_deployer.follow")
QUEUE = "deployer"


class SiteFollower:
    def __init__(self, releasing: Releasing) -> None:
        self.releasing = releasing
        self._running: set[asyncio.Task[None]] = set()

    async def subscribe(self, nc: Client) -> Subscription:
        return await nc.subscribe(subjects.site_follow(), queue=QUEUE, cb=self.on_message)

    async def on_message(self, msg: Msg) -> None:
        """Each request in its own task: NATS runs a subscription's callbacks one by one."""
        self._spawn(self._respond(msg))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _respond(self, msg: Msg) -> None:
        before: Traffic | None = None
        try:
            request = FollowSite.model_validate_json(msg.data)
            before, reply = await self.answer(request)
        except ValidationError as error:
            reply = SiteFollowed(routed=False, error=f"bad request: {error.errors()[0]['msg']}")
        except (DomainError, OSError) as error:
            reply = SiteFollowed(routed=False, error=str(error)[:2_000])
        if msg.reply:
            await msg.respond(reply.model_dump_json().encode())
        if before is not None:
            self._spawn(self._move(request, before))

    async def answer(self, request: FollowSite) -> tuple[Traffic | None, SiteFollowed]:
        """The route written; the traffic before the decision when a provider may have to move."""
        tenant, site_id = request.tenant_id, request.site_id
        if request.from_version < 1:
            return None, SiteFollowed(routed=False, error="from_version: a site starts at 1")
        site = await self.releasing.route(tenant, site_id)
        if request.from_version >= site.version:
            return None, SiteFollowed(routed=True)  # nothing was decided after it
        before = await self.releasing.traffic_at(tenant, site_id, request.from_version)
        return before, SiteFollowed(routed=True)

    async def _move(self, request: FollowSite, before: Traffic) -> None:
        tenant, site_id = request.tenant_id, request.site_id
        try:
            site = await self.releasing.sites.get(tenant, site_id)
            await self.releasing.follow_provider(tenant, site, before)
        except (DomainError, ReleaseRefusedError) as error:  # recorded; the watch settles it
            log.warning("provider of site %s: %s", site_id, error)

    async def close(self) -> None:
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
