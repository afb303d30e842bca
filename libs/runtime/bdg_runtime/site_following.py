"""Asks a deployer, over NATS request/reply, to put a site's hand-made decision into effect
(``FollowSite`` on ``subjects.site_follow()``): what the sites API and ``bdg deploy`` wait for
before answering, so the very next request to the edge sees the promote or rollback.

No deployer answering in time is not an error: the decision is in the log, and a deployer's
canary watch writes the route from the events within a turn. The answer then says so.
"""

from __future__ import annotations

import logging
from uuid import UUID

from nats.aio.client import Client
from nats.errors import Error as NatsError
from pydantic import ValidationError

from bdg_contracts import subjects
from bdg_contracts.site_follow import FollowSite, SiteFollowed

log = logging.getLogger("bdg_runtime.site_following")
FOLLOW_TIMEOUT_S = 5.0  # a route write is milliseconds; a cloud's move is not waited for


class NatsSiteFollowing:
    def __init__(self, nc: Client, timeout: float = FOLLOW_TIMEOUT_S) -> None:
        self.nc, self.timeout = nc, timeout

    async def follow(self, tenant: str, site_id: UUID, from_version: int) -> bool:
        request = FollowSite(tenant_id=tenant, site_id=site_id, from_version=from_version)
        try:
            reply = await self.nc.request(
                subjects.site_follow(), request.model_dump_json().encode(), timeout=self.timeout
            )
            answer = SiteFollowed.model_validate_json(reply.data)
        except (NatsError, TimeoutError, ValidationError) as error:  # no responders, timeout
            log.info("site %s: no deployer followed (%s): its watch will", site_id, error)
            return False
        if answer.error:
            log.warning("site %s: the deployer could not follow: %s", site_id, answer.error)
        return answer.routed
