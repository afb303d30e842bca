"""A site whose tenant chose "oci": each release is its image pushed to a real registry
(Debian's ``docker-registry``, the CNCF distribution server, behind Docker Hub's token flow with
a local token server: tests/oci_registry.py), and production is a tag that promote and rollback
point at a release's digest (OCI distribution spec, "Pulling manifests" by digest and "Pushing
Manifests" by tag), without uploading anything again. Real PostgreSQL for the site's events and
the encrypted credentials; no edge runs (an image site never touches it)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from bdg_contracts import release_events as rv
from bdg_deployer.artifacts import ArtifactStore
from bdg_deployer.canary_watch import watch_running
from bdg_deployer.edge_client import EdgeClient
from bdg_deployer.providers.choose import ProviderChoice
from bdg_deployer.providers.local import LocalEdge
from bdg_deployer.providers.oci_image import MANIFEST_TYPE
from bdg_deployer.releasing import EdgeSite, ReleaseRefusedError, Releasing
from bdg_jobs.aggregate import Cause
from bdg_jobs.application import utc_now
from bdg_jobs.deploy_credentials import DeployCredentials, connect_url
from bdg_jobs.site_commands import SiteCommands
from bdg_jobs.store import JobStore
from tests.integration.providers.conftest import FAST, SITE
from tests.oci_registry import TokenServer, registry, token_server
from tests.ports import free_port

pytestmark = pytest.mark.timeout(120)
USER, PASSWORD = "ana", "dckr_pat_" + secrets.token_hex(8)
REPO = "acme/shop"


@dataclass
class World:
    releasing: Releasing
    credentials: DeployCredentials
    tokens: TokenServer
    root: Path
    url: str

    async def site(self) -> UUID:
        cause = Cause("test", utc_now(), None)
        repo = f"https://git.example/acme/{secrets.token_hex(3)}"
        return (await self.releasing.sites.ensure("acme", cause, repo, "production")).site_id

    async def released(self, site_id: UUID, files: dict[str, bytes]) -> str:
        """Built, released on the registry and rolled out (an image has no canary)."""
        folder = self.root / secrets.token_hex(4)
        for name, content in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(content)
        build = await self.releasing.store_build("acme", site_id, folder, "static", None)
        release = await self.releasing.release("acme", site_id, build)
        await self.releasing.roll_out("acme", site_id, release)
        return release

    def tagged(self, tag: str) -> str | None:
        """What the registry says ``tag`` is, asked as any client would (the token flow)."""
        token = httpx.get(
            self.tokens.url,
            params={"service": "registry.test", "scope": f"repository:{REPO}:pull"},
            auth=(USER, PASSWORD),
        ).json()["token"]
        answer = httpx.head(
            f"{self.url}/v2/{REPO}/manifests/{tag}",
            headers={"Authorization": f"Bearer {token}", "Accept": MANIFEST_TYPE},
        )
        return answer.headers.get("docker-content-digest") if answer.status_code == 200 else None

    def uploads(self) -> int:
        log = (self.root / "registry.log").read_text()
        return sum(1 for line in log.splitlines() if '"POST ' in line and "/blobs/uploads/" in line)


@pytest.fixture(name="tokens")
def tokens_fixture() -> Iterator[TokenServer]:
    with token_server(USER, PASSWORD) as server:
        yield server


@pytest.fixture(name="world")
async def world_fixture(
    tmp_path: Path, database_url: str, tokens: TokenServer
) -> AsyncIterator[World]:
    store = JobStore.from_url(database_url)
    credentials = DeployCredentials(connect_url(database_url), secrets.token_bytes(32))
    port = free_port()  # no edge runs
    client = EdgeClient(f"http://127.0.0.1:{port}")
    edge = EdgeSite(tmp_path / "routes.json", ArtifactStore(tmp_path / "artifacts"), client, port)
    with registry(tmp_path, tokens) as url:
        choice = ProviderChoice(LocalEdge(client, port), credentials, "local", {"oci": url}, FAST)
        releasing = Releasing(SiteCommands(store), edge, utc_now, providers=choice)
        await credentials.put(
            "acme", "oci", PASSWORD, {"repository": REPO, "username": USER}, "production"
        )
        try:
            yield World(releasing, credentials, tokens, tmp_path, url)
        finally:
            store.close()


async def test_releases_are_digests_and_production_is_a_tag_moved_by_promote_and_rollback(
    world: World,
) -> None:
    sid = await world.site()
    first = await world.released(sid, SITE)
    site = await world.releasing.sites.get("acme", sid)
    one = site.releases[first]
    assert one.provider == "oci"
    assert one.deployment_id.startswith("sha256:")
    assert one.preview_url == f"{world.url.removeprefix('http://')}/{REPO}@{one.deployment_id}"
    assert world.tagged(first) == one.deployment_id  # the release's own tag
    assert world.tagged("production") == one.deployment_id  # the first release: promoted

    second = await world.released(sid, {"index.html": b"<h1>two</h1>"})
    site = await world.releasing.sites.get("acme", sid)
    two = site.releases[second]
    assert (site.stable, site.canary) == (second, None)  # no canary: promoted once pushed
    assert world.tagged("production") == two.deployment_id
    promoted = world.releasing.sites.store.history(sid)[-1]
    assert isinstance(promoted, rv.ReleasePromoted)
    assert isinstance(promoted.reason, rv.ManualReason)
    assert "oci has no canary" in promoted.reason.note

    pushed = world.uploads()
    await world.releasing.roll_back("acme", sid, second, "ana")  # the tag back, no rebuild
    assert world.tagged("production") == one.deployment_id
    await world.releasing.promote("acme", sid, second, "ana")
    assert world.tagged("production") == two.deployment_id
    assert world.uploads() == pushed  # a tag moved: no blob went up again
    assert len((await world.releasing.sites.get("acme", sid)).builds) == 2


async def test_a_tag_move_a_crash_cut_off_is_made_on_restart(world: World) -> None:
    sid = await world.site()
    first = await world.released(sid, SITE)
    second = await world.released(sid, {"index.html": b"<h1>two</h1>"})
    site = await world.releasing.sites.get("acme", sid)
    one, two = site.releases[first].deployment_id, site.releases[second].deployment_id
    cause, reason = Cause("deployer", utc_now(), None), rv.ManualReason(by="ana")
    await world.releasing.sites.execute("acme", sid, lambda s: s.roll_back(cause, second, reason))
    assert world.tagged("production") == two  # the event, without its tag move
    restarted = Releasing(
        world.releasing.sites, world.releasing.edge, utc_now, providers=world.releasing.providers
    )
    await watch_running(restarted)
    assert world.tagged("production") == one


async def test_wrong_credentials_fail_fast_with_the_registrys_words(world: World) -> None:
    await world.credentials.put(
        "acme", "oci", "dckr_pat_wrong-one", {"repository": REPO, "username": USER}, "production"
    )
    sid = await world.site()
    folder = world.root / "site"
    folder.mkdir()
    (folder / "index.html").write_bytes(b"<h1>x</h1>")
    build = await world.releasing.store_build("acme", sid, folder, "static", None)
    with pytest.raises(ReleaseRefusedError):
        await world.releasing.release("acme", sid, build)
    failed = world.releasing.sites.store.history(sid)[-1]
    assert isinstance(failed, rv.DeployFailed)
    assert (failed.provider, failed.status) == ("oci", 401)
    assert "dckr_pat_wrong-one" not in failed.message
    assert (await world.releasing.sites.get("acme", sid)).releases == {}
    assert world.uploads() == 0  # refused before any blob


async def test_a_refused_tag_move_is_recorded_and_settled_once_the_registry_takes_it(
    world: World,
) -> None:
    sid = await world.site()
    first = await world.released(sid, SITE)
    second = await world.released(sid, {"index.html": b"<h1>two</h1>"})
    site = await world.releasing.sites.get("acme", sid)
    one = site.releases[first].deployment_id
    with registry(world.root, world.tokens, readonly=True) as readonly:  # writes refused
        world.releasing.providers.urls["oci"] = readonly
        with pytest.raises(ReleaseRefusedError):
            await world.releasing.roll_back("acme", sid, second, "ana")
    failed = world.releasing.sites.store.history(sid)[-1]
    assert isinstance(failed, rv.DeployFailed)
    assert failed.provider == "oci"
    assert (await world.releasing.sites.get("acme", sid)).stable == first  # the events keep it
    assert world.tagged("production") != one
    world.releasing.providers.urls["oci"] = world.url
    await watch_running(world.releasing)  # the next turn settles what was refused
    assert world.tagged("production") == one
