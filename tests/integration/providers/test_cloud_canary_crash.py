"""A real deployer process killed (-9) in the middle of moving a Vercel canary, and started
again: the move the crash cut off is made from the site's events, once.

The decision (a promote or rollback by hand, as the sites API appends it) is followed by the
deployer (``FollowSite``): the edge's route first, then Vercel's call, which the Vercel server
(tests/fakes/vercel_api.py, following vercel.com/docs/rest-api "Rolling Releases" and
"Point production traffic to a previous production deployment by ID") holds unanswered while
the test kills the process: the call never reaches Vercel. The restarted deployer must complete
the rolling release (no second completion after), or end it (the rollback is not lost).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import nats
import pytest

from bdg_contracts import release_events as rv
from bdg_deployer.artifacts import ArtifactStore
from bdg_deployer.edge.main import state_paths
from bdg_deployer.edge_client import EdgeClient
from bdg_deployer.providers.choose import ProviderChoice
from bdg_deployer.providers.local import LocalEdge
from bdg_deployer.releasing import EdgeSite, Releasing
from bdg_jobs.aggregate import Cause
from bdg_jobs.application import utc_now
from bdg_jobs.deploy_credentials import KEY_ENV, DeployCredentials, connect_url
from bdg_jobs.site_commands import SiteCommands
from bdg_jobs.sites import Site
from bdg_jobs.store import JobStore
from bdg_runtime.site_following import NatsSiteFollowing
from tests.conftest import Servers
from tests.e2e.harness import Cluster, ServiceProcess
from tests.fakes.vercel_api import FakeVercel
from tests.integration.providers.conftest import FAST, SITE
from tests.ports import free_port
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(180)
HELD = (rv.CanaryStage(percent=5, min_seconds=0, min_requests=1_000),)  # no verdict by itself
ROLLING = "/v1/projects/shop/rolling-release"


@dataclass
class World:
    releasing: Releasing
    credentials: DeployCredentials
    vercel: FakeVercel
    cluster: Cluster
    env: dict[str, str]
    tmp: Path

    def deployer(self) -> ServiceProcess:
        return self.cluster.start("deployer", module="bdg_deployer.main", env=self.env)


@pytest.fixture(name="world")
async def world_fixture(
    tmp_path: Path, database_url: str, namespace: str, servers: Servers
) -> AsyncIterator[World]:
    store = JobStore.from_url(database_url)
    vercel = FakeVercel()
    key = secrets.token_bytes(32)
    credentials = DeployCredentials(connect_url(database_url), key)
    home = tmp_path / "home"
    routes, artifacts = state_paths(home)
    port = free_port()  # no edge runs: a Vercel site never touches it
    client = EdgeClient(f"http://127.0.0.1:{port}")
    edge = EdgeSite(routes, ArtifactStore(artifacts), client, port)
    choice = ProviderChoice(LocalEdge(client, port), credentials, "local", {"vercel": vercel.url})
    choice.retry = FAST
    releasing = Releasing(SiteCommands(store), edge, utc_now, stages=HELD, providers=choice)
    env = {
        "BDG_HOME": str(home),
        "BDG_VERCEL_API": vercel.url,
        KEY_ENV: base64.urlsafe_b64encode(key).decode(),
        "BDG_EDGE_PORT": str(port),
        "BDG_ANSWERS_FILE": "",
        "BDG_DEPLOY_SITES": "1",
    }
    cluster = Cluster(database_url, servers.nats_url, namespace, tmp_path)
    try:
        yield World(releasing, credentials, vercel, cluster, env, tmp_path)
    finally:
        cluster.stop()
        print(cluster.output())  # shown by pytest when the test failed
        vercel.stop()
        store.close()


async def vercel_canary(world: World) -> tuple[UUID, str, str]:
    """acme's shop on Vercel: the first release serving, the second a rolling release at
    stage 0, made as an earlier deployer did."""
    await world.credentials.put(
        "acme", "vercel", world.vercel.token, {"project": "shop"}, "production"
    )
    cause = Cause("test", utc_now(), None)
    sid = (
        await world.releasing.sites.ensure("acme", cause, "https://git.example/shop", "production")
    ).site_id

    async def built(files: dict[str, bytes]) -> str:
        folder = world.tmp / secrets.token_hex(4)
        for name, content in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(content)
        return await world.releasing.store_build("acme", sid, folder, "static", None)

    first = await world.releasing.release("acme", sid, await built(SITE))
    await world.releasing.roll_out("acme", sid, first)
    second = await world.releasing.release("acme", sid, await built({"index.html": b"v2"}))
    await world.releasing.roll_out("acme", sid, second)
    assert world.vercel.rolling is not None
    assert world.vercel.rolling.state == "ACTIVE"
    return sid, first, second


def moving_calls(world: World) -> list[tuple[str, str]]:
    return [
        (r.method, r.path)
        for r in world.vercel.api.requests
        if r.method != "GET" and ("/rolling-release/" in r.path or "/rollback/" in r.path)
    ]


async def settled_once_more(world: World, nc: nats.NATS, sid: UUID) -> None:
    """A deployer started again has read what Vercel runs (its settle turn) and is answering."""
    reads = len(world.vercel.api.calls("GET", ROLLING))

    async def looked() -> bool:
        return len(world.vercel.api.calls("GET", ROLLING)) > reads

    await eventually(looked, timeout=60, what="the restarted deployer's settle turn")
    version = (await world.releasing.sites.get("acme", sid)).version
    assert await NatsSiteFollowing(nc, timeout=10).follow("acme", sid, version)


Decide = Callable[[Site, Cause, str], None]
BY_HAND = rv.ManualReason(by="ana", note="by hand")


@pytest.mark.parametrize(
    ("held_path", "decide", "state", "serving"),
    [
        (f"{ROLLING}/complete", lambda s, c, r: s.promote(c, r, BY_HAND), "COMPLETE", "second"),
        (
            "/v1/projects/shop/rollback/",
            lambda s, c, r: s.roll_back(c, r, BY_HAND),
            "ABORTED",
            "first",
        ),
    ],
    ids=["promotion", "rollback"],
)
async def test_a_deployer_killed_mid_move_makes_it_once_on_restart(
    world: World, servers: Servers, held_path: str, decide: Decide, state: str, serving: str
) -> None:
    sid, first, second = await vercel_canary(world)
    site = await world.releasing.sites.get("acme", sid)
    deployments = {
        n: site.releases[r].deployment_id for n, r in (("first", first), ("second", second))
    }
    nc = await nats.connect(servers.nats_url)
    following = NatsSiteFollowing(nc, timeout=10)
    try:
        deployer = world.deployer()

        async def answering() -> bool:
            now = (await world.releasing.sites.get("acme", sid)).version
            return await NatsSiteFollowing(nc, timeout=2).follow("acme", sid, now)

        await eventually(answering, timeout=60, what="the deployer to answer")
        held = world.vercel.api.hold(held_path)
        before: list[int] = []

        def by_hand(s: Site) -> None:
            before[:] = [s.version]
            decide(s, Cause("user:ana", utc_now(), None, "ana"), second)

        await world.releasing.sites.execute("acme", sid, by_hand)
        assert await following.follow("acme", sid, before[0])  # the route; Vercel's call next

        async def cut_off() -> bool:
            return held.arrived.is_set()

        await eventually(cut_off, timeout=30, what="the deployer's Vercel call")
        deployer.kill9()  # mid-call: Vercel never hears it
        held.released.set()
        assert world.vercel.rolling is not None
        assert world.vercel.rolling.state == "ACTIVE"  # the canary still takes its share

        world.deployer()

        async def made() -> bool:
            assert world.vercel.rolling is not None
            return world.vercel.rolling.state == state

        await eventually(made, timeout=60, what=f"Vercel's rolling release {state}")
        assert world.vercel.production == deployments[serving]
        moves = moving_calls(world)
        call = held_path + (deployments["first"] if held_path.endswith("/") else "")
        assert moves.count(("POST", call)) == 2  # the one cut off, and the one made

        for process in list(world.cluster.processes):  # a third deployer: nothing more to do
            process.stop()
        world.deployer()
        await settled_once_more(world, nc, sid)
        assert moving_calls(world) == moves
        assert world.vercel.rolling.state == state
    finally:
        await nc.close()
