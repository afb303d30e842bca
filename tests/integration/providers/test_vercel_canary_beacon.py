"""A Vercel rolling release decided inside the deployer from its pages' client beacons.

Vercel documents no REST endpoint for a deployment's request or error counts (vercel.com/docs/
rolling-releases: the canary's metrics are shown in the dashboard; the REST API reference has
none), so the deployer publishes ``/_bdg/beacon.js`` with each Vercel release, its pages report
views and errors to the edge's collector (a real edge process here), and the deployer's watch
turn (``watch_running``) feeds those counts to the same sequential test as the edge's canary and
approves the next stage, completes, or rolls back through Vercel's Rolling Releases and Instant
Rollback endpoints (tests/fakes/vercel_api.py follows vercel.com/docs/rest-api, sections named
there). Pages are what a browser running the published script sends: the collector address and
the key are read from the file Vercel received. Real PostgreSQL for the site's events.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from bdg_contracts import release_events as rv
from bdg_deployer.artifacts import ArtifactStore
from bdg_deployer.beacon.keys import load_secret, release_key, secret_path
from bdg_deployer.beacon.publish import CloudBeacon, collector_url
from bdg_deployer.beacon.script import PATH
from bdg_deployer.canary_settings import canary_settings
from bdg_deployer.canary_watch import watch_running
from bdg_deployer.edge.main import state_paths
from bdg_deployer.edge_client import EdgeClient
from bdg_deployer.providers.choose import ProviderChoice
from bdg_deployer.providers.local import LocalEdge
from bdg_deployer.releasing import EdgeSite, Releasing
from bdg_jobs.aggregate import Cause
from bdg_jobs.application import utc_now
from bdg_jobs.deploy_credentials import DeployCredentials, connect_url
from bdg_jobs.migrations import migrate
from bdg_jobs.site_commands import SiteCommands
from bdg_jobs.store import JobStore
from tests.fakes.vercel_api import FakeVercel
from tests.integration.providers.conftest import FAST, SITE
from tests.integration.test_edge_canary import EdgeProcess, edge_up
from tests.ports import free_port

pytestmark = pytest.mark.timeout(180)
# The operator's rollout (BDG_CANARY_STAGES): two stages, so a stage is approved on Vercel.
OPERATOR = {"BDG_CANARY_STAGES": "10:0:100,50:0:100", "BDG_CANARY_THRESHOLD": "0.01"}
BURST = 50  # canary pages (and as many stable ones) between two watch turns


@dataclass
class World:
    releasing: Releasing
    credentials: DeployCredentials
    vercel: FakeVercel
    edge: EdgeProcess
    secret: bytes
    tmp: Path

    async def site(self, tenant: str, repo: str) -> UUID:
        await self.credentials.put(
            tenant, "vercel", self.vercel.token, {"project": "shop"}, "production"
        )
        cause = Cause("test", utc_now(), None)
        return (await self.releasing.sites.ensure(tenant, cause, repo, "production")).site_id

    async def released(self, tenant: str, site_id: UUID, files: dict[str, bytes]) -> str:
        folder = self.tmp / secrets.token_hex(4)
        for name, content in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(content)
        build = await self.releasing.store_build(tenant, site_id, folder, "static", None)
        return await self.releasing.release(tenant, site_id, build)

    async def page(self, tenant: str, site_id: UUID, release: str) -> tuple[str, dict[str, str]]:
        """The collector and body the release's published beacon script posts."""
        site = await self.releasing.sites.get(tenant, site_id)
        deployed = self.vercel.deployments[site.releases[release].deployment_id or ""]
        script = deployed["files"][PATH].decode()
        url = json.loads(re.search(r"var url = (\"[^\"]*\")", script)[1])  # type: ignore[index]
        body = json.loads(re.search(r"body = (\{[^}]*\})", script)[1])  # type: ignore[index]
        return url, body


@pytest.fixture(name="world")
async def world_fixture(tmp_path: Path, database_url: str) -> AsyncIterator[World]:
    migrate(database_url)
    edge = EdgeProcess(tmp_path, free_port())
    edge.start()
    store = JobStore.from_url(database_url)
    vercel = FakeVercel()
    try:
        routes, artifacts = state_paths(tmp_path)
        client = EdgeClient(f"http://127.0.0.1:{edge.port}")
        await edge_up(client)
        secret = load_secret(secret_path(routes.parent))  # the edge made it: the same one
        beacon = CloudBeacon(collector_url("", client.base_url), secret)
        site = EdgeSite(routes, ArtifactStore(artifacts), client, edge.port, beacon)
        credentials = DeployCredentials(connect_url(database_url), secrets.token_bytes(32))
        urls = {"vercel": vercel.url}
        choice = ProviderChoice(LocalEdge(client, edge.port), credentials, "local", urls, FAST)
        stages, threshold = canary_settings(OPERATOR)
        releasing = Releasing(
            SiteCommands(store), site, utc_now, stages, threshold, providers=choice
        )
        yield World(releasing, credentials, vercel, edge, secret, tmp_path)
    finally:
        vercel.stop()
        store.close()
        assert edge.proc is not None
        edge.proc.terminate()
        edge.proc.wait(10)


async def vercel_canary(world: World, tenant: str = "acme") -> tuple[UUID, str, str]:
    sid = await world.site(tenant, f"https://git.example/{tenant}/{secrets.token_hex(4)}")
    first = await world.released(tenant, sid, SITE)
    await world.releasing.roll_out(tenant, sid, first)
    second = await world.released(tenant, sid, {**SITE, "index.html": b"<h1>v2</h1>"})
    await world.releasing.roll_out(tenant, sid, second)
    return sid, first, second


async def run_pages(world: World, sid: UUID, stable: str, canary: str, every: int) -> type:
    """Pages of both releases reporting as their script does, an error on every ``every``th
    canary page, a deployer watch turn after each burst, until the canary is decided."""
    (url, canary_body), (_, stable_body) = (
        await world.page("acme", sid, canary),
        await world.page("acme", sid, stable),
    )
    pages = 0
    async with httpx.AsyncClient() as browser:
        for _ in range(40):
            for _ in range(BURST):
                pages += 1
                for body in (canary_body, stable_body):
                    sent = await browser.post(
                        url, content=json.dumps({**body, "views": 1, "errors": 0})
                    )
                    assert sent.status_code == 204, sent.text
                if pages % every == 0:
                    failed = {**canary_body, "views": 0, "errors": 1}
                    assert (await browser.post(url, content=json.dumps(failed))).status_code == 204
            await watch_running(world.releasing)
            site = await world.releasing.sites.get("acme", sid)
            if site.canary is None:
                return type(list(world.releasing.sites.store.history(sid))[-1])
    raise AssertionError("the canary was never decided")


async def test_two_percent_client_errors_roll_the_vercel_canary_back(world: World) -> None:
    sid, first, second = await vercel_canary(world)
    started = next(
        e for e in world.releasing.sites.store.history(sid) if isinstance(e, rv.CanaryStarted)
    )
    assert started.stages == canary_settings(OPERATOR)[0]  # the operator's stages, recorded
    assert world.vercel.config is not None
    steps = [s["targetPercentage"] for s in world.vercel.config["stages"]]
    assert steps == [10, 50, 100]

    # The beacon is published beside the approved artifact, which stays as it was built.
    site = await world.releasing.sites.get("acme", sid)
    deployed = world.vercel.deployments[site.releases[second].deployment_id or ""]["files"]
    assert set(deployed) == {*SITE, PATH}
    built = site.builds[site.releases[second].build]
    assert built.digest == site.releases[second].digest
    manifest = world.releasing.edge.artifacts.verify(built.digest or "")
    assert set(manifest.files) == set(SITE)

    assert await run_pages(world, sid, first, second, every=50) is rv.ReleaseRolledBack
    site = await world.releasing.sites.get("acme", sid)
    assert (site.stable, site.canary) == (first, None)
    rolled = list(world.releasing.sites.store.history(sid))[-1]
    assert isinstance(rolled, rv.ReleaseRolledBack)
    assert isinstance(rolled.reason, rv.AutomaticReason)
    figures = rolled.reason.figures
    assert figures.llr >= figures.upper
    assert figures.canary_errors * 100 >= figures.canary_requests  # the 2% that crossed
    assert world.vercel.rolling is not None
    assert world.vercel.rolling.state == "ABORTED"  # Instant Rollback ended the rolling release
    assert world.vercel.production == site.releases[first].deployment_id


async def test_half_a_percent_is_promoted_stage_by_stage(world: World) -> None:
    sid, first, second = await vercel_canary(world)
    assert await run_pages(world, sid, first, second, every=200) is rv.ReleasePromoted
    history = list(world.releasing.sites.store.history(sid))
    assert any(isinstance(e, rv.CanaryAdvanced) for e in history)
    approved = world.vercel.api.calls("POST", ".*/rolling-release/approve-stage")
    assert [json.loads(c.body)["nextStageIndex"] for c in approved] == [1]
    assert world.vercel.rolling is not None
    assert world.vercel.rolling.state == "COMPLETE"
    site = await world.releasing.sites.get("acme", sid)
    assert world.vercel.production == site.releases[second].deployment_id


async def test_a_forged_beacon_for_another_tenants_release_is_refused(world: World) -> None:
    sid, _, canary = await vercel_canary(world, "acme")
    evil = await world.site("evil", "https://git.example/evil/site")
    evils = await world.released("evil", evil, SITE)
    url, evil_body = await world.page("evil", evil, evils)
    forged = {"release": canary, "key": evil_body["key"], "views": 0, "errors": 50}
    async with httpx.AsyncClient() as browser:
        answer = await browser.post(url, content=json.dumps(forged))
        assert answer.status_code == 403
        assert (await browser.get(url.replace("/_bdg/collect", "/_bdg/beacons"))).json() == {}
    site = await world.releasing.sites.get("acme", sid)
    assert forged["key"] != release_key(world.secret, "acme", str(sid), canary)
    assert site.canary is not None  # nothing decided from it
    assert await world.releasing.watch_once("acme", sid) is rv.CanaryObserved
