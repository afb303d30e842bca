"""The deploy step for sites, end to end on real PostgreSQL, sandboxd and the edge process: a
library is delivered as a branch only; a site's first job is promoted, the next one goes out as
a canary that the deployer's watch judges; a failing build fails the step with its output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import nats
import pytest

from bdg_contracts import release_events as rv
from bdg_contracts import subjects
from bdg_contracts.site_follow import FollowSite, SiteFollowed
from bdg_deployer.application import Deploying, UnapprovedDeployError
from bdg_deployer.artifacts import ArtifactStore
from bdg_deployer.build.sandboxed import SandboxBuilder
from bdg_deployer.canary_watch import watch_running
from bdg_deployer.domain import ChangeSet, DeployTask, approval_digest, branch_name
from bdg_deployer.edge.main import state_paths
from bdg_deployer.edge_client import EdgeClient
from bdg_deployer.git_branch import GitBranchDeployer
from bdg_deployer.git_refs import find_git_dir, read_ref
from bdg_deployer.releasing import EdgeSite, Releasing
from bdg_deployer.site_deploy import SiteBuildError, SiteDeployer
from bdg_deployer.site_follower import SiteFollower
from bdg_jobs.aggregate import Cause
from bdg_jobs.application import utc_now
from bdg_jobs.site_commands import SiteCommands, SiteNotFoundError
from bdg_jobs.store import JobStore
from tests.conftest import Servers
from tests.gateway_stack import Keys, Stack
from tests.git_repos import make_repo
from tests.ports import free_port
from tests.sandbox.daemon import start_daemon
from tests.site_history import project_sites
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(240)
APPROVED = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
STAGE = (rv.CanaryStage(percent=50, min_seconds=0, min_requests=50),)


@dataclass
class World:
    deployer: SiteDeployer
    releasing: Releasing
    root: Path
    port: int


@pytest.fixture(name="root")
def root_fixture() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="bdg-site-deploy-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(name="world")
async def world_fixture(root: Path, tmp_path: Path, database_url: str) -> AsyncIterator[World]:
    port = free_port()
    env = {**os.environ, "BDG_HOME": str(tmp_path), "BDG_EDGE_PORT": str(port)}
    edge = subprocess.Popen(  # noqa: ASYNC220  (started once, not awaited)
        [sys.executable, "-m", "bdg_deployer.edge.main"], env=env
    )
    daemon = await start_daemon(SANDBOX_SOURCE_ROOTS=f'["{root}"]')
    daemon.grant({"acme": [root]})
    client = daemon.client()
    routes, artifacts = state_paths(tmp_path)
    edge_client = EdgeClient(f"http://127.0.0.1:{port}")

    async def up() -> bool:
        try:
            await edge_client.counts()
        except httpx.HTTPError:
            return False
        return True

    await eventually(up, timeout=30, what="the edge")
    store = JobStore.from_url(database_url)
    site_edge = EdgeSite(routes, ArtifactStore(artifacts), edge_client, port)
    releasing = Releasing(SiteCommands(store), site_edge, utc_now, stages=STAGE)
    branch = GitBranchDeployer(tmp_path / "deploys")
    try:
        yield World(SiteDeployer(branch, SandboxBuilder(client), releasing), releasing, root, port)
    finally:
        store.close()
        await client.close()
        daemon.stop()
        daemon.remove()
        edge.terminate()
        edge.wait(10)


def task(repo: Path, *patches: str) -> DeployTask:
    change = ChangeSet(str(repo), "main", "", patches, ())
    return DeployTask(uuid4(), "acme", "ship it", change=change, approved_at=APPROVED)


def new_index(before: str, after: str) -> str:
    return f"--- a/public/index.html\n+++ b/public/index.html\n@@ -1 +1 @@\n-{before}\n+{after}\n"


async def served(port: int, host: str) -> str:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        return (await http.get("/", headers={"host": host})).text


async def test_a_library_is_delivered_as_a_branch_only(world: World) -> None:
    repo = world.root / "lib"
    make_repo(repo, {"pyproject.toml": "[project]\nname = 'x'\n", "x/__init__.py": ""})
    done = await world.deployer.deploy(task(repo))
    assert done.branch is not None
    assert done.url.startswith("file://")
    with pytest.raises(SiteNotFoundError):
        await world.releasing.sites.get("acme", rv.site_id("acme", str(repo), "production"))


async def test_a_sites_first_job_is_promoted_and_the_next_is_a_judged_canary(
    world: World,
) -> None:
    repo = world.root / "site"
    make_repo(repo, {"public/index.html": "<h1>one</h1>\n"})
    first = await world.deployer.deploy(task(repo))
    assert first.branch is not None
    assert not first.canary
    host = first.url.removeprefix("http://").split(":")[0]
    assert await served(world.port, host) == "<h1>one</h1>\n"

    second = await world.deployer.deploy(task(repo, new_index("<h1>one</h1>", "<h1>two</h1>")))
    assert second.canary
    assert second.url == first.url
    sid = rv.site_id("acme", str(repo), "production")
    site = await world.releasing.sites.get("acme", sid)
    assert site.canary is not None
    canary = site.canary.release
    preview = site.releases[site.canary.release].preview_url
    assert await served(world.port, preview.removeprefix("http://").split(":")[0]) == (
        "<h1>two</h1>\n"
    )

    async def traffic_then_watch() -> bool:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{world.port}") as http:
            for _ in range(80):
                await http.get("/", headers={"host": host})
                http.cookies.clear()
        await watch_running(world.releasing)
        return (await world.releasing.sites.get("acme", sid)).canary is None

    await eventually(traffic_then_watch, timeout=120, what="the canary to be decided")
    assert (await world.releasing.sites.get("acme", sid)).stable == canary
    promoted = world.releasing.sites.store.history(sid)[-1]
    assert isinstance(promoted, rv.ReleasePromoted)
    assert isinstance(promoted.reason, rv.AutomaticReason)
    assert await served(world.port, host) == "<h1>two</h1>\n"


async def test_a_failing_build_fails_the_step_with_its_output(world: World) -> None:
    repo = world.root / "broken"
    script = "node -e \"console.error('vite: cannot resolve ./main.ts'); process.exit(1)\""
    make_repo(repo, {"package.json": json.dumps({"scripts": {"build": script}})})
    with pytest.raises(SiteBuildError, match=r"cannot resolve \./main\.ts"):
        await world.deployer.deploy(task(repo))
    sid = rv.site_id("acme", str(repo), "production")
    site = await world.releasing.sites.get("acme", sid)
    assert [b.failed is not None for b in site.builds.values()] == [True]
    assert site.releases == {}


async def test_the_jobs_rollback_takes_its_release_out_without_rebuilding(world: World) -> None:
    repo = world.root / "rolled"
    make_repo(repo, {"public/index.html": "<h1>one</h1>\n"})
    first = await world.deployer.deploy(task(repo))
    second_task = task(repo, new_index("<h1>one</h1>", "<h1>two</h1>"))
    second = await world.deployer.deploy(second_task)
    assert second.canary
    sid = rv.site_id("acme", str(repo), "production")
    builds = len((await world.releasing.sites.get("acme", sid)).builds)
    assert await world.deployer.roll_back(second_task) == first.url
    site = await world.releasing.sites.get("acme", sid)
    assert site.canary is None
    assert len(site.builds) == builds  # nothing rebuilt
    rolled = world.releasing.sites.store.history(sid)[-1]
    assert isinstance(rolled, rv.ReleaseRolledBack)
    assert rolled.reason == rv.ManualReason(by=f"job:{second_task.job_id}")
    assert (rolled.producer, rolled.user_id) == ("deployer", None)


async def test_a_redelivered_deploy_releases_nothing_twice(world: World) -> None:
    """The deployer died after the release, before the job's Deployed: the redelivery finds
    the job's release and answers as the first time, with no second build or canary."""
    repo = world.root / "again"
    make_repo(repo, {"public/index.html": "<h1>one</h1>\n"})
    await world.deployer.deploy(task(repo))
    second_task = task(repo, new_index("<h1>one</h1>", "<h1>two</h1>"))
    first_try = await world.deployer.deploy(second_task)
    sid = rv.site_id("acme", str(repo), "production")
    version = (await world.releasing.sites.get("acme", sid)).version
    again = await world.deployer.deploy(second_task)
    assert again == first_try
    assert again.canary
    assert (await world.releasing.sites.get("acme", sid)).version == version


async def test_the_approval_digest_covers_the_built_artifact_and_is_what_is_published(
    world: World,
) -> None:
    repo = world.root / "approved"
    make_repo(repo, {"public/index.html": "<h1>one</h1>\n"})
    t = task(repo)
    shown = await world.deployer.prepare(t)
    assert shown.artifact is not None
    assert f"manifest sha256:{shown.artifact}" in shown.preview
    approved = approval_digest(t.change, shown.artifact)
    assert approval_digest(t.change, None) != approved  # the artifact is part of it
    done = await Deploying(world.deployer).publish(t, approved)
    assert done.branch is not None
    sid = rv.site_id("acme", str(repo), "production")
    site = await world.releasing.sites.get("acme", sid)
    assert len(site.builds) == 1  # the build shown is the one released: none made after
    [built] = site.builds.values()
    assert site.releases[site.stable or ""].digest == built.digest == shown.artifact


async def test_an_artifact_other_than_the_approved_one_publishes_nothing(
    world: World, tmp_path: Path
) -> None:
    repo = world.root / "swapped"
    make_repo(repo, {"public/index.html": "<h1>one</h1>\n"})
    t = task(repo)
    shown = await world.deployer.prepare(t)
    approved = approval_digest(t.change, shown.artifact)
    # Another build of the same job lands after the approval (a stale replica, a tampering):
    # what would go out is no longer what the approver saw.
    other = tmp_path / "other"
    other.mkdir()
    (other / "index.html").write_text("<h1>not reviewed</h1>\n")
    sid = rv.site_id("acme", str(repo), "production")
    await world.releasing.store_build("acme", sid, other, "static", t.job_id)
    with pytest.raises(UnapprovedDeployError) as refused:
        await Deploying(world.deployer).publish(t, approved)
    assert approved in str(refused.value)
    assert await world.deployer.publishing_digest(t) in str(refused.value)
    site = await world.releasing.sites.get("acme", sid)
    assert site.releases == {}  # nothing released
    git_dir = find_git_dir(repo).path
    assert read_ref(git_dir, f"refs/heads/{branch_name(t.job_id)}") is None  # nor delivered


async def test_a_promote_from_the_api_reaches_the_edge_at_the_next_watch_turn(
    world: World,
) -> None:
    """The sites API and `bdg deploy` only append the decision; the deployer's watch writes
    the edge's route from the events."""
    repo = world.root / "clicked"
    make_repo(repo, {"public/index.html": "<h1>one</h1>\n"})
    first = await world.deployer.deploy(task(repo))
    await world.deployer.deploy(task(repo, new_index("<h1>one</h1>", "<h1>two</h1>")))
    host = first.url.removeprefix("http://").split(":")[0]
    sid = rv.site_id("acme", str(repo), "production")
    site = await world.releasing.sites.get("acme", sid)
    assert site.canary is not None
    canary, user = site.canary.release, Cause("user:ada", utc_now(), None, "ada")
    by_hand = rv.ManualReason(by="ada")  # what SiteReads.promote appends, and nothing else
    await world.releasing.sites.execute("acme", sid, lambda s: s.promote(user, canary, by_hand))
    outside = {"bdg_visitor": "9999"}  # a visitor the canary's 50% never takes

    async def page() -> str:
        base = f"http://127.0.0.1:{world.port}"
        async with httpx.AsyncClient(base_url=base, cookies=outside) as http:
            return (await http.get("/", headers={"host": host})).text

    assert await page() == "<h1>one</h1>\n"  # the edge has not heard yet
    await watch_running(world.releasing)
    assert await page() == "<h1>two</h1>\n"


@pytest.fixture(name="follower")
async def follower_fixture(
    world: World, servers: Servers, namespace: str
) -> AsyncIterator[SiteFollower]:
    """The deployer's side of ``FollowSite``, on a NATS connection of its own (as in the
    deployer process), in the test's bus namespace."""
    nc = await nats.connect(servers.nats_url)
    follower = SiteFollower(world.releasing)
    subscription = await follower.subscribe(nc)
    await nc.flush()  # the server knows the subscription before the API asks
    try:
        yield follower
    finally:
        await subscription.unsubscribe()
        await follower.close()
        await nc.close()


async def test_a_promote_and_rollback_from_the_api_take_effect_before_the_answer(
    world: World, follower: SiteFollower, client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    """No watch turn runs here: the API's answer comes once a deployer wrote the route, so the
    very next request to the edge (one, not polled) serves the decision."""
    repo = world.root / "at-once"
    make_repo(repo, {"public/index.html": "<h1>one</h1>\n"})
    first = await world.deployer.deploy(task(repo))
    await world.deployer.deploy(task(repo, new_index("<h1>one</h1>", "<h1>two</h1>")))
    host = first.url.removeprefix("http://").split(":")[0]
    sid = rv.site_id("acme", str(repo), "production")
    site = await world.releasing.sites.get("acme", sid)
    assert site.canary is not None
    assert site.stable is not None
    canary, stable = site.canary.release, site.stable
    project_sites(stack.store, stack.database_url)  # the routes find a release by name here
    outside = {"bdg_visitor": "9999"}  # a visitor the canary's 50% never takes

    async def page() -> str:
        base = f"http://127.0.0.1:{world.port}"
        async with httpx.AsyncClient(base_url=base, cookies=outside) as http:
            return (await http.get("/", headers={"host": host})).text

    assert await page() == "<h1>one</h1>\n"
    auth = keys.headers("acme", sub="ada")
    promoted = await client.post(f"/releases/{canary}/promote", headers=auth)
    assert promoted.status_code == 202, promoted.text
    assert promoted.json()["followed"] is True
    assert await page() == "<h1>two</h1>\n"

    rolled = await client.post(f"/releases/{canary}/rollback", headers=auth)
    assert rolled.status_code == 202, rolled.text
    assert rolled.json()["followed"] is True
    assert rolled.json()["site"]["stable"] == stable
    assert await page() == "<h1>one</h1>\n"  # production is the first release again


async def test_with_no_deployer_answering_the_api_says_the_edge_follows_later(
    world: World, client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    repo = world.root / "later"
    make_repo(repo, {"public/index.html": "<h1>one</h1>\n"})
    first = await world.deployer.deploy(task(repo))
    await world.deployer.deploy(task(repo, new_index("<h1>one</h1>", "<h1>two</h1>")))
    sid = rv.site_id("acme", str(repo), "production")
    site = await world.releasing.sites.get("acme", sid)
    assert site.canary is not None
    project_sites(stack.store, stack.database_url)
    answer = await client.post(
        f"/releases/{site.canary.release}/promote", headers=keys.headers("acme")
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["followed"] is False  # the decision is logged; the watch applies it
    assert answer.json()["site"]["stable"] == site.canary.release
    await watch_running(world.releasing)
    host = first.url.removeprefix("http://").split(":")[0]
    assert await served(world.port, host) == "<h1>two</h1>\n"


async def test_a_follow_request_for_what_is_not_the_tenants_routes_nothing(
    world: World, follower: SiteFollower, servers: Servers, namespace: str
) -> None:
    repo = world.root / "theirs"
    make_repo(repo, {"public/index.html": "<h1>one</h1>\n"})
    await world.deployer.deploy(task(repo))
    sid = rv.site_id("acme", str(repo), "production")
    table_before = world.releasing.edge.routes.read_bytes()
    nc = await nats.connect(servers.nats_url)
    try:
        for raw, why in (
            (follow_request("mallory", sid, 1), f"no site {sid}"),  # another tenant's
            (follow_request("acme", uuid4(), 1), "no site"),
            (follow_request("acme", sid, 0), "a site starts at 1"),
            (b'{"tenant_id": "acme", "site_id": "x", "from_version": 1}', "bad request"),
            (b"\x00", "bad request"),
        ):
            reply = await nc.request(subjects.site_follow(), raw, timeout=10)
            answer = SiteFollowed.model_validate_json(reply.data)
            assert answer.routed is False
            assert why in answer.error
    finally:
        await nc.close()
    assert world.releasing.edge.routes.read_bytes() == table_before  # nothing written


def follow_request(tenant: str, site_id: UUID, version: int) -> bytes:
    request = FollowSite(tenant_id=tenant, site_id=site_id, from_version=version)
    return request.model_dump_json().encode()
