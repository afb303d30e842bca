"""A canary through the real edge process and the real event store: automatic rollback at 2%
client errors, promotion at 0.5%, one-click promote and rollback, an altered artifact refused.

Errors are injected the way a page reports them: the client beacon, for every 50th (2%) or
200th (0.5%) canary page served, so the outcome does not hang on a random draw.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pytest

from bdg_contracts import release_events as rv
from bdg_deployer.artifacts import ArtifactStore
from bdg_deployer.canary_watch import watch_running
from bdg_deployer.edge.app import RELEASE_HEADER
from bdg_deployer.edge.main import state_paths
from bdg_deployer.edge.routes import VISITOR_COOKIE, read_table
from bdg_deployer.edge_client import EdgeClient
from bdg_deployer.releasing import EdgeSite, ReleaseRefusedError, Releasing
from bdg_deployer.site_routes import site_label
from bdg_jobs.application import utc_now
from bdg_jobs.domain import Cause
from bdg_jobs.site_commands import SiteCommands
from bdg_jobs.store import JobStore
from tests.ports import free_port
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(120)
ONE_STAGE = (rv.CanaryStage(percent=50, min_seconds=0, min_requests=200),)


@dataclass
class EdgeProcess:
    home: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "BDG_HOME": str(self.home), "BDG_EDGE_PORT": str(self.port)}
        self.proc = subprocess.Popen([sys.executable, "-m", "bdg_deployer.edge.main"], env=env)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


@pytest.fixture
def edge_process(tmp_path: Path) -> Iterator[EdgeProcess]:
    edge = EdgeProcess(tmp_path, free_port())
    edge.start()
    try:
        yield edge
    finally:
        assert edge.proc is not None
        edge.proc.terminate()
        edge.proc.wait(10)


async def edge_up(client: EdgeClient) -> None:
    async def up() -> bool:
        try:
            await client.counts()
        except httpx.HTTPError:
            return False
        return True

    await eventually(up, timeout=30, what="the edge to listen")


@pytest.fixture
async def releasing(
    edge_process: EdgeProcess, database_url: str
) -> AsyncIterator[tuple[Releasing, UUID, str]]:
    home, port = edge_process.home, edge_process.port
    routes, artifacts = state_paths(home)
    client = EdgeClient(f"http://127.0.0.1:{port}")
    await edge_up(client)
    sites = SiteCommands(JobStore.from_url(database_url))
    cause = Cause("deployer", utc_now(), "evt-site")
    site = await sites.ensure("acme", cause, f"https://git.example/{uuid4().hex}", "production")
    edge = EdgeSite(routes, ArtifactStore(artifacts), client, port)
    yield Releasing(sites, edge, utc_now, stages=ONE_STAGE), site.site_id, site_label(site)
    sites.store.close()


def folder(root: Path, text: str) -> Path:
    root.mkdir(parents=True)
    (root / "index.html").write_text(f"<h1>{text}</h1>")
    return root


async def released(r: Releasing, site_id: UUID, root: Path, text: str) -> str:
    build = await r.store_build("acme", site_id, folder(root / text, text), "static:.", None)
    return await r.release("acme", site_id, build)


async def production(port: int, label: str, visitors: int) -> list[str]:
    """The release each of ``visitors`` new visitors got from the production URL."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        got = []
        for _ in range(visitors):
            answer = await client.get("/", headers={"host": f"{label}.localhost"})
            assert answer.status_code == 200
            got.append(answer.headers[RELEASE_HEADER])
            client.cookies.clear()
        return got


async def run_canary(r: Releasing, site_id: UUID, label: str, every: int) -> type[rv.Event]:
    """Traffic in bursts with a beacon error every ``every``th canary page, a judgement after
    each burst, until the deployer decides."""
    port = r.edge.port
    served = 0
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

        async def burst_then_judge() -> type[rv.Event] | None:
            nonlocal served
            site = await r.sites.get("acme", site_id)
            assert site.canary is not None
            for release in await production(port, label, 60):
                if release == site.canary.release:
                    served += 1
                    if served % every == 0:
                        await client.post(
                            "/_bdg/beacon",
                            headers={"host": f"{label}.localhost", RELEASE_HEADER: release},
                        )
            decided = await r.watch_once("acme", site_id)
            return None if decided is rv.CanaryObserved else decided

        return await eventually(burst_then_judge, timeout=90, what="a canary decision")


async def test_two_percent_errors_roll_the_canary_back(
    releasing: tuple[Releasing, UUID, str], tmp_path: Path
) -> None:
    r, site_id, label = releasing
    first = await released(r, site_id, tmp_path, "one")
    await r.roll_out("acme", site_id, first)
    second = await released(r, site_id, tmp_path, "two")
    await r.roll_out("acme", site_id, second)
    assert set(await production(r.edge.port, label, 40)) == {first, second}
    assert await run_canary(r, site_id, label, every=50) is rv.ReleaseRolledBack
    site = await r.sites.get("acme", site_id)
    assert site.stable == first
    assert site.canary is None
    history = r.sites.store.history(site_id)
    rollback = next(e for e in history if isinstance(e, rv.ReleaseRolledBack))
    assert isinstance(rollback.reason, rv.AutomaticReason)
    figures = rollback.reason.figures
    assert figures.llr >= figures.upper
    assert figures.canary_errors >= 3
    assert set(await production(r.edge.port, label, 40)) == {first}


async def test_half_a_percent_is_promoted(
    releasing: tuple[Releasing, UUID, str], tmp_path: Path
) -> None:
    r, site_id, label = releasing
    first = await released(r, site_id, tmp_path, "one")
    await r.roll_out("acme", site_id, first)
    second = await released(r, site_id, tmp_path, "two")
    await r.roll_out("acme", site_id, second)
    assert await run_canary(r, site_id, label, every=200) is rv.ReleasePromoted
    site = await r.sites.get("acme", site_id)
    assert site.stable == second
    promoted = [e for e in r.sites.store.history(site_id) if isinstance(e, rv.ReleasePromoted)]
    assert isinstance(promoted[-1].reason, rv.AutomaticReason)
    assert promoted[-1].reason.figures.llr <= promoted[-1].reason.figures.lower
    assert set(await production(r.edge.port, label, 40)) == {second}


async def test_one_click_promote_and_rollback(
    releasing: tuple[Releasing, UUID, str], tmp_path: Path
) -> None:
    r, site_id, label = releasing
    first = await released(r, site_id, tmp_path, "one")
    await r.roll_out("acme", site_id, first)
    second = await released(r, site_id, tmp_path, "two")
    await r.promote("acme", site_id, second, "alice")
    assert set(await production(r.edge.port, label, 10)) == {second}
    await r.roll_back("acme", site_id, second, "bob")
    assert set(await production(r.edge.port, label, 10)) == {first}
    last = r.sites.store.history(site_id)[-1]
    assert isinstance(last, rv.ReleaseRolledBack)
    assert last.reason == rv.ManualReason(by="bob")
    assert (last.user_id, last.to_release) == ("bob", first)
    # The preview of the rolled back release still answers: nothing was deleted or rebuilt.
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{r.edge.port}") as client:
        preview = await client.get("/", headers={"host": f"{second}.{label}.localhost"})
    assert preview.text == "<h1>two</h1>"


async def test_an_altered_artifact_is_never_released(
    releasing: tuple[Releasing, UUID, str], tmp_path: Path
) -> None:
    r, site_id, _ = releasing
    build = await r.store_build("acme", site_id, folder(tmp_path / "x", "x"), "static:.", None)
    site = await r.sites.get("acme", site_id)
    digest = site.builds[build].digest
    assert digest is not None
    manifest = r.edge.artifacts.verify(digest)
    r.edge.artifacts.blob(manifest.files["index.html"].sha256).write_text("<h1>evil</h1>")
    with pytest.raises(ReleaseRefusedError, match=r"index\.html is altered"):
        await r.release("acme", site_id, build)
    site = await r.sites.get("acme", site_id)
    assert site.releases == {}
    failed = r.sites.store.history(site_id)[-1]
    assert isinstance(failed, rv.DeployFailed)
    assert "altered" in failed.message


async def releases_of(port: int, label: str, buckets: list[int]) -> list[str]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        got = []
        for bucket in buckets:
            client.cookies.set(VISITOR_COOKIE, str(bucket))
            answer = await client.get("/", headers={"host": f"{label}.localhost"})
            got.append(answer.headers[RELEASE_HEADER])
        return got


async def test_a_killed_edge_comes_back_with_the_last_split_and_the_canary_goes_on(
    releasing: tuple[Releasing, UUID, str], edge_process: EdgeProcess, tmp_path: Path
) -> None:
    r, site_id, label = releasing
    first = await released(r, site_id, tmp_path, "one")
    await r.roll_out("acme", site_id, first)
    second = await released(r, site_id, tmp_path, "two")
    await r.roll_out("acme", site_id, second)
    buckets = list(range(0, 10_000, 250))
    before = await releases_of(r.edge.port, label, buckets)
    assert set(before) == {first, second}
    edge_process.kill9()
    edge_process.start()
    await edge_up(r.edge.client)
    assert await releases_of(r.edge.port, label, buckets) == before
    # The counts restarted with the edge: the window starts over, and a 2% canary is still
    # rolled back.
    assert await run_canary(r, site_id, label, every=50) is rv.ReleaseRolledBack


async def test_a_decision_whose_route_was_never_written_is_applied_from_the_events(
    releasing: tuple[Releasing, UUID, str], tmp_path: Path
) -> None:
    """The deployer appended a rollback and died before writing the route: the next turn of
    the canary watch (a restarted deployer) writes it from the events, and decides nothing
    twice."""
    r, site_id, label = releasing
    first = await released(r, site_id, tmp_path, "one")
    await r.roll_out("acme", site_id, first)
    second = await released(r, site_id, tmp_path, "two")
    await r.roll_out("acme", site_id, second)
    cause = Cause("deployer", utc_now(), "evt-crash")
    await r.sites.execute(
        "acme", site_id, lambda s: s.roll_back(cause, second, rv.ManualReason(by="carol"))
    )
    assert read_table(r.edge.routes).sites[label].canary == second  # the route lags
    version = (await r.sites.get("acme", site_id)).version
    assert await watch_running(r) == 0
    assert read_table(r.edge.routes).sites[label].canary is None
    assert set(await production(r.edge.port, label, 30)) == {first}
    assert (await r.sites.get("acme", site_id)).version == version  # nothing decided again
