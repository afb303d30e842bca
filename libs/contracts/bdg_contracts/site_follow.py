"""Request/reply between whoever decides a site by hand (the sites API, ``bdg deploy``) and the
deployer, which makes the traffic follow (``subjects.site_follow()``).

A one-click promote or rollback is appended by the caller; ``FollowSite`` then asks a deployer
to put it into effect before the caller answers: the edge's route written from the events, and
the move the release's cloud provider must make. ``from_version`` is the site's version just
before the decision, so the deployer knows which move it was (providers/moves.py).
"""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from bdg_contracts.base import Contract


class FollowSite(Contract):
    tenant_id: str = Field(min_length=1, max_length=200)
    site_id: UUID
    from_version: int = Field(ge=0, le=10_000_000)


class SiteFollowed(Contract):
    """``routed``: the edge serves what the events say now. ``error``: why it could not."""

    routed: bool
    error: str = Field(default="", max_length=2_000)
