"""The sites API: a tenant's sites and releases, one-click promote and rollback.

The shapes are the contract the web dashboard draws (README, "Sites and releases"); the JSON is
made by ``bdg_jobs.site_reading.views`` and checked against these models on the way out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Body, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from nats.aio.client import Client
from pydantic import Field

from bdg_contracts import commands as cmd
from bdg_gateway.deps import CurrentCaller
from bdg_gateway.strict_json import StrictJsonRoute
from bdg_gateway.views import View
from bdg_jobs.site_commands import SiteCommands, SiteNotFoundError
from bdg_jobs.site_reading.reads import Acted, SiteReads
from bdg_jobs.user_commands import Caller, JobCommands
from bdg_runtime.site_following import NatsSiteFollowing

router = APIRouter(tags=["sites"], route_class=StrictJsonRoute)


class CanaryView(View):
    release: str
    percent: float
    stage: int
    stages: int


class SiteOut(View):
    id: UUID
    repo: str
    target: str
    production_url: str | None
    stable: str | None
    canary: CanaryView | None
    updated_at: datetime | None


class ReleaseOut(View):
    id: str
    state: Literal["preview", "canary", "stable", "promoted_before", "rolled_back", "failed"]
    traffic_percent: float
    requests: int
    errors: int
    error_rate: float
    p50_ms: float | None
    p95_ms: float | None
    digest: str
    preview_url: str
    created_at: datetime
    job_id: UUID | None
    reason: str | None


class SiteList(View):
    sites: list[SiteOut]


class SiteReleases(View):
    site: SiteOut
    releases: list[ReleaseOut]


class ReleaseAction(View):
    site: SiteOut
    release: ReleaseOut
    followed: bool = Field(
        description="the edge serves the decision already; false: no deployer answered in "
        "time, and its canary watch applies it within one turn (2 s)"
    )


def install(app: FastAPI, commands: JobCommands, pool: Any, nc: Client) -> None:
    sites = SiteCommands(commands.app.store, commands.app.publisher)
    app.state.sites = SiteReads(sites, pool, commands.app.clock, NatsSiteFollowing(nc))
    app.add_exception_handler(SiteNotFoundError, _not_found)
    app.include_router(router)


async def _not_found(request: Request, error: Exception) -> JSONResponse:
    # Another tenant's site or release is refused with the same words as a missing one.
    return JSONResponse(status_code=404, content={"detail": str(error) or "not found"})


async def _reads(request: Request) -> SiteReads:
    reads: SiteReads = request.app.state.sites
    return reads


Reads = Annotated[SiteReads, Depends(_reads)]


@router.get("/sites")
async def list_sites(caller: CurrentCaller, reads: Reads) -> SiteList:
    """The tenant's sites, most recently changed first (the read model)."""
    rows = await reads.list_sites(caller.tenant_id)
    return SiteList(sites=[SiteOut.model_validate(r) for r in rows])


@router.get("/sites/{site_id}/releases")
async def site_releases(site_id: UUID, caller: CurrentCaller, reads: Reads) -> SiteReleases:
    """The site and its releases, newest first, with each one's traffic share and figures."""
    view = await reads.view(caller.tenant_id, site_id)
    return SiteReleases(
        site=SiteOut.model_validate(view.site_json()),
        releases=[ReleaseOut.model_validate(r) for r in view.releases_json()],
    )


# Both one-click decisions answer alike: the release's site and the release after it.
REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such release"},
    409: {"description": "not now"},
}
Decide = Callable[[Caller, str, str], Awaitable[Acted]]


@router.post("/releases/{release}/promote", status_code=202, responses=REFUSALS)
async def promote_release(
    release: str,
    caller: CurrentCaller,
    reads: Reads,
    body: Annotated[cmd.PromoteRelease | None, Body()] = None,
) -> ReleaseAction:
    """The release serves the production URL (nothing is rebuilt); a deployer makes the edge
    serve it before the answer (``followed``)."""
    return await _decide(reads.promote, caller, release, body)


@router.post("/releases/{release}/rollback", status_code=202, responses=REFUSALS)
async def roll_back_release(
    release: str,
    caller: CurrentCaller,
    reads: Reads,
    body: Annotated[cmd.RollBackRelease | None, Body()] = None,
) -> ReleaseAction:
    """A canary stops getting traffic; a serving release gives way to the one before it."""
    return await _decide(reads.roll_back, caller, release, body)


async def _decide(
    decide: Decide,
    caller: Caller,
    release: str,
    body: cmd.PromoteRelease | cmd.RollBackRelease | None,
) -> ReleaseAction:
    acted = await decide(caller, release, body.reason if body else "")
    return ReleaseAction(
        site=SiteOut.model_validate(acted.view.site_json()),
        release=ReleaseOut.model_validate(acted.view.release_json(release)),
        followed=acted.followed,
    )
