"""A site released on a cloud provider chosen by its tenant: the release, the rollout and the
rollbacks are events, and the provider's traffic follows them (local servers following the
providers' documented APIs; real PostgreSQL for the site's events and the encrypted tokens).
Missing credentials are refused before anything is published; a provider's refusal is a
DeployFailed with its status and its own message."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from bdg_contracts import release_events as rv
from bdg_deployer.artifacts import ArtifactStore
from bdg_deployer.build.sandboxed import SandboxBuilder
from bdg_deployer.canary_watch import watch_running
from bdg_deployer.domain import ChangeSet, DeployTask
from bdg_deployer.edge_client import EdgeClient
from bdg_deployer.git_branch import GitBranchDeployer
from bdg_deployer.providers.choose import ProviderChoice
from bdg_deployer.providers.local import LocalEdge
from bdg_deployer.releasing import EdgeSite, ReleaseRefusedError, Releasing
from bdg_deployer.site_deploy import SiteBuildError, SiteDeployer
from bdg_jobs.aggregate import Cause
from bdg_jobs.application import utc_now
from bdg_jobs.deploy_credentials import DeployCredentials, connect_url
from bdg_jobs.migrations import migrate
from bdg_jobs.site_commands import SiteCommands
from bdg_jobs.store import JobStore
from bdg_sandbox.client import SandboxClient
from tests.fakes.netlify_api import FakeNetlify
from tests.fakes.vercel_api import FakeVercel
from tests.git_repos import make_repo
from tests.integration.providers.conftest import FAST, SITE
from tests.ports import free_port
from tests.site_history import FIGURES

pytestmark = pytest.mark.timeout(90)
STAGES = (rv.CanaryStage(percent=1, min_seconds=0, min_requests=0),)


@dataclass
class World:
    releasing: Releasing
    credentials: DeployCredentials
    vercel: FakeVercel
    netlify: FakeNetlify
    tmp: Path

    async def site(self, tenant: str, repo: str) -> UUID:
        cause = Cause("test", utc_now(), None)
        return (await self.releasing.sites.ensure(tenant, cause, repo, "production")).site_id

    async def built(self, tenant: str, site_id: UUID, files: dict[str, bytes]) -> str:
        folder = self.tmp / secrets.token_hex(4)
        for name, content in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(content)
        return await self.releasing.store_build(tenant, site_id, folder, "static", None)

    def history(self, site_id: UUID) -> list[object]:
        return list(self.releasing.sites.store.history(site_id))


@pytest.fixture(name="world")
async def world_fixture(tmp_path: Path, database_url: str) -> AsyncIterator[World]:
    migrate(database_url)
    store = JobStore.from_url(database_url)
    vercel, netlify = FakeVercel(), FakeNetlify()
    key = secrets.token_bytes(32)
    credentials = DeployCredentials(connect_url(database_url), key)
    port = free_port()  # no edge runs: these sites never touch it
    client = EdgeClient(f"http://127.0.0.1:{port}")
    edge = EdgeSite(tmp_path / "routes.json", ArtifactStore(tmp_path / "artifacts"), client, port)
    urls = {"vercel": vercel.url, "netlify": netlify.url, "cloudflare-pages": "http://127.0.0.1:1"}
    choice = ProviderChoice(LocalEdge(client, port), credentials, "local", urls, FAST)
    releasing = Releasing(SiteCommands(store), edge, utc_now, stages=STAGES, providers=choice)
    try:
        yield World(releasing, credentials, vercel, netlify, tmp_path)
    finally:
        vercel.stop()
        netlify.stop()
        store.close()


async def on_vercel(world: World, tenant: str, token: str = "") -> None:
    settings = {"project": "shop"}
    await world.credentials.put(
        tenant, "vercel", token or world.vercel.token, settings, "production"
    )


async def test_a_vercel_site_rolls_out_as_a_rolling_release_and_rolls_back(world: World) -> None:
    await on_vercel(world, "acme")
    sid = await world.site("acme", "https://git.example/acme/shop")
    first = await world.releasing.release("acme", sid, await world.built("acme", sid, SITE))
    await world.releasing.roll_out("acme", sid, first)
    site = await world.releasing.sites.get("acme", sid)
    one = site.releases[first]
    assert (one.provider, one.deployment_id) == ("vercel", world.vercel.production)
    assert world.vercel.deployments[one.deployment_id]["files"] == SITE

    second = await world.releasing.release(
        "acme", sid, await world.built("acme", sid, {"index.html": b"v2"})
    )
    await world.releasing.roll_out("acme", sid, second)
    two = (await world.releasing.sites.get("acme", sid)).releases[second]
    assert world.vercel.rolling is not None
    assert (world.vercel.rolling.canary, world.vercel.rolling.state) == (
        two.deployment_id,
        "ACTIVE",
    )

    await world.releasing.promote("acme", sid, second, "ana")  # completes the rolling release
    assert world.vercel.production == two.deployment_id
    assert world.vercel.rolling.state == "COMPLETE"

    await world.releasing.roll_back("acme", sid, second, "ana")  # instant rollback, no rebuild
    assert world.vercel.production == one.deployment_id
    assert len(world.vercel.deployments) == 2
    assert isinstance(world.history(sid)[-1], rv.ReleaseRolledBack)


async def test_a_netlify_site_without_canary_is_promoted_once_ready(world: World) -> None:
    await world.credentials.put(
        "acme", "netlify", world.netlify.token, {"site_id": world.netlify.site_id}, "production"
    )
    sid = await world.site("acme", "https://git.example/acme/blog")
    first = await world.releasing.release("acme", sid, await world.built("acme", sid, SITE))
    await world.releasing.roll_out("acme", sid, first)
    second = await world.releasing.release(
        "acme", sid, await world.built("acme", sid, {"index.html": b"v2"})
    )
    await world.releasing.roll_out("acme", sid, second)
    site = await world.releasing.sites.get("acme", sid)
    assert (site.stable, site.canary) == (second, None)
    promoted = world.history(sid)[-1]
    assert isinstance(promoted, rv.ReleasePromoted)
    assert isinstance(promoted.reason, rv.ManualReason)
    assert "netlify has no canary" in promoted.reason.note
    assert world.netlify.served() == {"index.html": b"v2"}


async def test_missing_credentials_refuse_before_anything_is_published(world: World) -> None:
    world.releasing.providers.default = "vercel"  # the operator's default; acme set no token
    sid = await world.site("acme", "https://git.example/acme/docs")
    site = await world.releasing.sites.get("acme", sid)
    with pytest.raises(ReleaseRefusedError, match="no vercel credentials for tenant acme"):
        await world.releasing.target_of("acme", site)
    failed = world.history(sid)[-1]
    assert isinstance(failed, rv.DeployFailed)
    assert "PUT /deploy/credentials/vercel" in failed.message
    assert (failed.provider, failed.status) == ("vercel", None)
    assert world.vercel.api.requests == []


async def test_a_401_is_a_deploy_failure_with_vercels_message(world: World) -> None:
    await on_vercel(world, "acme", token="revoked-token")
    sid = await world.site("acme", "https://git.example/acme/shop")
    build = await world.built("acme", sid, SITE)
    with pytest.raises(ReleaseRefusedError):
        await world.releasing.release("acme", sid, build)
    failed = world.history(sid)[-1]
    assert isinstance(failed, rv.DeployFailed)
    assert (failed.provider, failed.status) == ("vercel", 401)
    assert "The request is not authorized." in failed.message
    assert "revoked-token" not in failed.message
    assert (await world.releasing.sites.get("acme", sid)).releases == {}


async def test_a_provider_failing_a_rollback_is_recorded(world: World) -> None:
    await on_vercel(world, "acme")
    sid = await world.site("acme", "https://git.example/acme/shop")
    first = await world.releasing.release("acme", sid, await world.built("acme", sid, SITE))
    await world.releasing.roll_out("acme", sid, first)
    second = await world.releasing.release(
        "acme", sid, await world.built("acme", sid, {"index.html": b"v2"})
    )
    await world.releasing.roll_out("acme", sid, second)
    body = {"error": {"code": "internal_server_error", "message": "An unexpected error"}}
    world.vercel.api.fail("/rollback/", 503, body, times=10)
    with pytest.raises(ReleaseRefusedError, match="An unexpected error"):
        await world.releasing.roll_back("acme", sid, second, "ana")
    failed = world.history(sid)[-1]
    assert isinstance(failed, rv.DeployFailed)
    assert (failed.status, failed.release) == (
        503,
        (await world.releasing.sites.get("acme", sid)).stable,
    )
    assert len(world.vercel.api.calls("POST", ".*/rollback/.*")) == FAST.attempts


async def test_a_deploy_without_credentials_fails_before_the_build(world: World) -> None:
    """The step fails naming the route to call; no build starts (the sandbox, unreachable
    here, is never asked) and nothing is published."""
    world.releasing.providers.default = "vercel"
    repo = world.tmp / "site"
    make_repo(repo, {"public/index.html": "<h1>one</h1>\n"})
    nobody = world.tmp / "no-sandboxd.sock"  # no daemon listens there
    builder = SandboxBuilder(SandboxClient(f"unix://{nobody}"))
    deployer = SiteDeployer(GitBranchDeployer(world.tmp / "deploys"), builder, world.releasing)
    change = ChangeSet(str(repo), "main", "", (), ())
    task = DeployTask(uuid4(), "acme", "ship it", change=change, approved_at=utc_now())
    with pytest.raises(SiteBuildError, match="no vercel credentials for tenant acme"):
        await deployer.deploy(task)
    sid = rv.site_id("acme", str(repo), "production")
    history = world.history(sid)
    assert [type(e) for e in history] == [rv.SiteCreated, rv.DeployFailed]
    assert world.vercel.api.requests == []


async def test_a_refused_promotion_is_settled_by_the_watch(world: World) -> None:
    """Netlify refuses the publish (5xx until the retries are spent): DeployFailed, the events
    keep the promotion, and the watch's next turn makes Netlify serve it."""
    await world.credentials.put(
        "acme", "netlify", world.netlify.token, {"site_id": world.netlify.site_id}, "production"
    )
    sid = await world.site("acme", "https://git.example/acme/blog")
    first = await world.releasing.release("acme", sid, await world.built("acme", sid, SITE))
    await world.releasing.roll_out("acme", sid, first)
    second = await world.releasing.release(
        "acme", sid, await world.built("acme", sid, {"index.html": b"v2"})
    )
    body = {"code": 502, "message": "Bad Gateway"}
    world.netlify.api.fail("/restore$", 502, body, times=FAST.attempts)
    with pytest.raises(ReleaseRefusedError, match="Bad Gateway"):
        await world.releasing.roll_out("acme", sid, second)
    assert world.netlify.served() == SITE  # not yet
    await watch_running(world.releasing)
    assert world.netlify.served() == {"index.html": b"v2"}
    assert (await world.releasing.sites.get("acme", sid)).stable == second


async def test_a_restarted_deployer_settles_what_a_crash_left(world: World) -> None:
    """A deployer killed between ReleaseRolledBack and Vercel's rollback: Vercel still serves
    the release taken out. A new deployer process (nothing in memory) puts it right once."""
    await on_vercel(world, "acme")
    sid = await world.site("acme", "https://git.example/acme/shop")
    first = await world.releasing.release("acme", sid, await world.built("acme", sid, SITE))
    await world.releasing.roll_out("acme", sid, first)
    second = await world.releasing.release(
        "acme", sid, await world.built("acme", sid, {"index.html": b"v2"})
    )
    await world.releasing.promote("acme", sid, second, "ana")
    site = await world.releasing.sites.get("acme", sid)
    one, two = site.releases[first].deployment_id, site.releases[second].deployment_id
    # The rollback's event, without its call (the crash): appended as the deployer would.
    reason = rv.ManualReason(by="ana")
    cause = Cause("deployer", utc_now(), None)
    await world.releasing.sites.execute("acme", sid, lambda s: s.roll_back(cause, second, reason))
    assert world.vercel.production == two

    restarted = Releasing(
        world.releasing.sites,
        world.releasing.edge,
        utc_now,
        stages=STAGES,
        providers=world.releasing.providers,
    )
    await watch_running(restarted)
    assert world.vercel.production == one
    promotes = len(world.vercel.api.calls("POST", "/v10/projects/.*"))
    await watch_running(restarted)  # settled: no further call
    assert len(world.vercel.api.calls("POST", "/v10/projects/.*")) == promotes


HELD = (  # a canary that waits for evidence: the watch decides nothing by itself here
    rv.CanaryStage(percent=5, min_seconds=0, min_requests=1_000),
    rv.CanaryStage(percent=50, min_seconds=0, min_requests=1_000),
)
ROLLING = "/v1/projects/shop/rolling-release"


def restarted(world: World) -> Releasing:
    """A new deployer process: the same log and provider, nothing in memory."""
    return Releasing(
        world.releasing.sites, world.releasing.edge, utc_now, stages=HELD,
        providers=world.releasing.providers,
    )  # fmt: skip


def vercel_moves(world: World) -> list[tuple[str, str]]:
    """Every call that moves Vercel's traffic, in order (reads left out)."""
    moving = ("/rolling-release/", "/promote/", "/rollback/")
    return [
        (r.method, r.path)
        for r in world.vercel.api.requests
        if r.method != "GET" and any(m in r.path for m in moving)
    ]


async def vercel_canary(world: World, *, started: bool = True) -> tuple[UUID, str, str]:
    """acme's shop on Vercel: the first release serving, the second a canary at stage 0 (on
    Vercel too, unless ``started`` is False: its CanaryStarted appended without the call)."""
    await on_vercel(world, "acme")
    world.releasing.stages = HELD
    sid = await world.site("acme", f"https://git.example/acme/{secrets.token_hex(3)}")
    first = await world.releasing.release("acme", sid, await world.built("acme", sid, SITE))
    await world.releasing.roll_out("acme", sid, first)
    second = await world.releasing.release(
        "acme", sid, await world.built("acme", sid, {"index.html": b"v2"})
    )
    if started:
        await world.releasing.roll_out("acme", sid, second)
    else:
        cause = Cause("deployer", utc_now(), None)
        await world.releasing.sites.execute(
            "acme", sid, lambda s: s.start_canary(cause, second, HELD, 0.01)
        )
    return sid, first, second


def zero(release: str) -> rv.ReleaseCounts:
    return rv.ReleaseCounts(release=release, requests=0, errors=0)


async def test_a_canary_start_the_crash_cut_off_is_made_on_restart(world: World) -> None:
    sid, _, second = await vercel_canary(world, started=False)
    assert world.vercel.rolling is None  # the event, not the call
    deployer = restarted(world)
    await watch_running(deployer)
    two = (await world.releasing.sites.get("acme", sid)).releases[second].deployment_id
    assert world.vercel.rolling is not None
    assert (world.vercel.rolling.canary, world.vercel.rolling.stage) == (two, 0)
    assert world.vercel.rolling.state == "ACTIVE"
    made = vercel_moves(world)
    await watch_running(deployer)
    await watch_running(restarted(world))  # and a second restart: nothing more
    assert vercel_moves(world) == made


async def test_a_stage_the_crash_cut_off_is_advanced_on_restart(world: World) -> None:
    sid, first, second = await vercel_canary(world)
    cause = Cause("deployer", utc_now(), None)
    await world.releasing.sites.execute(
        "acme", sid, lambda s: s.advance(cause, zero(second), zero(first))
    )  # CanaryAdvanced without its approve-stage call
    assert world.vercel.rolling is not None
    assert world.vercel.rolling.stage == 0
    await watch_running(restarted(world))
    assert (world.vercel.rolling.stage, world.vercel.rolling.state) == (1, "ACTIVE")
    approvals = world.vercel.api.calls("POST", f"{ROLLING}/approve-stage")
    assert [r.json()["nextStageIndex"] for r in approvals] == [1]
    await watch_running(restarted(world))
    assert len(world.vercel.api.calls("POST", f"{ROLLING}/approve-stage")) == 1


async def test_a_promotion_the_crash_cut_off_completes_once(world: World) -> None:
    sid, _, second = await vercel_canary(world)
    cause = Cause("deployer", utc_now(), None)
    figures = rv.AutomaticReason(figures=FIGURES)
    await world.releasing.sites.execute("acme", sid, lambda s: s.promote(cause, second, figures))
    two = (await world.releasing.sites.get("acme", sid)).releases[second].deployment_id
    assert world.vercel.rolling is not None
    assert world.vercel.rolling.state == "ACTIVE"
    plain = len(world.vercel.api.calls("POST", "/v10/projects/.*"))  # the first release's
    await watch_running(restarted(world))
    assert (world.vercel.rolling.state, world.vercel.production) == ("COMPLETE", two)
    await watch_running(restarted(world))  # the promotion reached Vercel: none again
    assert len(world.vercel.api.calls("POST", f"{ROLLING}/complete")) == 1
    assert len(world.vercel.api.calls("POST", "/v10/projects/.*")) == plain  # nor a promote


async def test_an_automatic_rollback_the_crash_cut_off_is_not_lost(world: World) -> None:
    sid, first, second = await vercel_canary(world)
    cause = Cause("deployer", utc_now(), None)
    figures = rv.AutomaticReason(figures=FIGURES)
    await world.releasing.sites.execute("acme", sid, lambda s: s.roll_back(cause, second, figures))
    one = (await world.releasing.sites.get("acme", sid)).releases[first].deployment_id
    assert world.vercel.rolling is not None
    assert world.vercel.rolling.state == "ACTIVE"  # the canary still takes traffic on Vercel
    assert world.vercel.production == one  # so production alone cannot tell
    await watch_running(restarted(world))
    assert (world.vercel.rolling.state, world.vercel.production) == ("ABORTED", one)
    await watch_running(restarted(world))
    assert len(world.vercel.api.calls("POST", "/v1/projects/shop/rollback/.*")) == 1
