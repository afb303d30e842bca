"""Release events on the job's WebSocket (sites API contract): the events of the releases the
job made, backfilled then live, as ``{"type": "release"}`` frames beside the job's events;
another job's releases on the same site send nothing."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import UUID, uuid4

import pytest
from websockets.asyncio.client import ClientConnection, connect

from bdg_contracts import commands as cmd
from bdg_contracts import release_events as rv
from bdg_jobs.site_commands import SiteCommands
from bdg_jobs.sites import Site
from bdg_jobs.user_commands import Caller
from tests.gateway_stack import Keys, Stack, new_tenant
from tests.site_history import FIGURES, STAGES, cause, counts, release

pytestmark = pytest.mark.timeout(60)


async def next_release_frame(ws: ClientConnection) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if message.get("type") == "release":
            return message


async def test_the_jobs_release_events_come_as_frames_backfilled_then_live(
    stack: Stack, keys: Keys, live_url: str
) -> None:
    tenant = new_tenant()
    job = (await stack.commands.create(Caller(tenant, "alice"), cmd.RequestJob(goal="ship"))).job_id
    sites = SiteCommands(stack.store, stack.app.publisher)
    site = await sites.ensure(tenant, cause(), rv.job_site_repo("", job), rv.JOB_TARGET)
    assert site.site_id == rv.job_site_id(tenant, "", job)
    other_job = uuid4()
    stable = await release(sites, tenant, site.site_id, other_job)
    first = rv.ManualReason(by="deployer")
    await sites.execute(tenant, site.site_id, lambda s: s.promote(cause(), stable, first))
    ours = await release(sites, tenant, site.site_id, job)  # before the socket: backfilled

    url = f"{live_url}/jobs/{job}/stream?token={keys.token(tenant)}"
    async with connect(url) as ws:
        created = await next_release_frame(ws)
        assert (created["event"], created["release"]) == ("ReleaseCreated", ours)
        assert created["site_id"] == str(site.site_id)
        assert created["preview_url"].startswith(f"http://{ours}.")
        assert "tenant_id" not in created  # the envelope stays out

        await release(sites, tenant, site.site_id, other_job)  # not the job's: no frame

        def canary(s: Site) -> None:
            s.start_canary(cause(), ours, STAGES, 0.01)
            s.observe(cause(), counts(ours, 40, 1), counts(stable, 400, 2), FIGURES)
            s.advance(cause(), counts(ours, 40, 1), counts(stable, 400, 2))

        await sites.execute(tenant, site.site_id, canary)
        automatic = rv.AutomaticReason(figures=FIGURES)
        await sites.execute(tenant, site.site_id, lambda s: s.roll_back(cause(), ours, automatic))
        frames = [await next_release_frame(ws) for _ in range(3)]
    assert [f["event"] for f in frames] == ["CanaryStarted", "CanaryAdvanced", "ReleaseRolledBack"]
    assert {f["release"] for f in frames} == {ours}
    assert (frames[1]["stage"], frames[1]["percent"]) == (1, 50.0)
    assert frames[1]["canary"]["errors"] == 1
    rolled = frames[2]
    assert rolled["to_release"] == stable
    assert rolled["reason"]["figures"]["canary_errors"] == FIGURES.canary_errors
    versions = [f["site_version"] for f in (created, *frames)]
    assert versions == sorted(set(versions))  # each once, in order


async def test_a_job_without_a_site_streams_its_events_as_before(
    stack: Stack, keys: Keys, live_url: str
) -> None:
    tenant = new_tenant()
    job: UUID = (
        await stack.commands.create(Caller(tenant, "alice"), cmd.RequestJob(goal="no site"))
    ).job_id
    url = f"{live_url}/jobs/{job}/stream?token={keys.token(tenant)}"
    async with connect(url) as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert (first["version"], first["name"]) == (1, "JobRequested")
        await stack.commands.cancel(Caller(tenant, "alice"), job, cmd.CancelJob(reason="done"))
        second = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert second["name"] == "JobCancelled"
