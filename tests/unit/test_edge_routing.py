"""The edge's app: a site's files by host, the canary's share and stickiness, refusal of an
altered artifact, the client error beacon. In process (httpx's ASGI transport); the same app
through its own process is in tests/integration/test_edge_canary.py."""

from __future__ import annotations

import math
import random
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request

from bdg_deployer.artifacts import ArtifactError, ArtifactStore
from bdg_deployer.edge.app import RELEASE_HEADER, Edge, create_app
from bdg_deployer.edge.routes import (
    VISITOR_COOKIE,
    SiteRoute,
    in_canary,
    parse_host,
    read_table,
    update_site,
)

pytestmark = pytest.mark.timeout(60)


def site_folder(root: Path, text: str) -> Path:
    root.mkdir(parents=True)
    (root / "index.html").write_text(f"<h1>{text}</h1>")
    (root / "assets").mkdir()
    (root / "assets" / "app.js").write_text(f"console.log({text!r})")
    return root


@pytest.fixture
def edge(tmp_path: Path) -> tuple[Path, ArtifactStore, httpx.AsyncClient]:
    store = ArtifactStore(tmp_path / "artifacts")
    routes = tmp_path / "edge" / "routes.json"
    one = store.put(site_folder(tmp_path / "one", "one")).digest
    two = store.put(site_folder(tmp_path / "two", "two")).digest
    update_site(
        routes,
        "web-1",
        SiteRoute(stable="r1", canary="r2", percent=1, releases={"r1": one, "r2": two}),
    )
    app = create_app(routes, store, seed=7)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://edge")
    return routes, store, client


async def test_production_preview_and_files(
    edge: tuple[Path, ArtifactStore, httpx.AsyncClient],
) -> None:
    _, _, client = edge
    preview = await client.get("/", headers={"host": "r2.web-1.localhost:8790"})
    assert preview.text == "<h1>two</h1>"
    assert preview.headers["content-type"].startswith("text/html")
    js = await client.get("/assets/app.js", headers={"host": "r1.web-1.localhost"})
    assert js.text == "console.log('one')"
    assert (await client.get("/nope.css", headers={"host": "web-1.localhost"})).status_code == 404
    assert (await client.get("/", headers={"host": "web-9.localhost"})).status_code == 404
    assert (await client.get("/", headers={"host": "r9.web-1.localhost"})).status_code == 404


def within_binomial_tolerance(hits: int, n: int, p: float) -> bool:
    return abs(hits - n * p) <= 4 * math.sqrt(n * p * (1 - p))


def test_share_within_binomial_tolerance_over_100000_new_visitors(
    edge: tuple[Path, ArtifactStore, httpx.AsyncClient],
) -> None:
    """The share itself, from the edge's choice for each new visitor: ten times the visitors
    of the test through the app below, at a tenth of its cost."""
    routes, store, _ = edge
    chooser = Edge(routes, store, random.Random(7))
    route = chooser.current().sites["web-1"]
    new_visitor = Request({"type": "http", "headers": []})
    n, p = 100_000, 0.01
    chosen = [chooser.choose(route, new_visitor) for _ in range(n)]
    assert all(bucket is not None for _, bucket in chosen)  # each new visitor gets a bucket
    canary = sum(release == "r2" for release, _ in chosen)
    assert within_binomial_tolerance(canary, n, p), f"{canary} of {n} in the canary"


@pytest.mark.timeout(300)  # 10,000 requests through the app: 1-3 min on a loaded 2-core machine
async def test_share_within_binomial_tolerance_over_10000_requests(
    edge: tuple[Path, ArtifactStore, httpx.AsyncClient],
) -> None:
    """The same through the app, as the issue states it: 10,000 requests of new visitors."""
    _, _, client = edge
    n, p = 10_000, 0.01
    canary = 0
    for _ in range(n):
        answer = await client.get("/", headers={"host": "web-1.localhost"})
        canary += answer.headers[RELEASE_HEADER] == "r2"
        client.cookies.clear()  # every request a new visitor
    assert within_binomial_tolerance(canary, n, p), f"{canary} of {n} in the canary"


async def test_a_visitor_stays_on_its_release_as_the_share_grows(
    edge: tuple[Path, ArtifactStore, httpx.AsyncClient],
) -> None:
    routes, _, client = edge
    seen: dict[str, str] = {}
    for bucket in ("5", "99", "100", "4000", "9999"):
        client.cookies.set(VISITOR_COOKIE, bucket)
        answers = {
            (await client.get("/", headers={"host": "web-1.localhost"})).headers[RELEASE_HEADER]
            for _ in range(5)
        }
        assert len(answers) == 1
        seen[bucket] = answers.pop()
    assert seen == {"5": "r2", "99": "r2", "100": "r1", "4000": "r1", "9999": "r1"}
    table = read_table(routes).sites["web-1"]
    update_site(routes, "web-1", table.model_copy(update={"percent": 50}))
    for bucket in ("5", "99", "4000"):  # in at 1%: still in at 50%
        client.cookies.set(VISITOR_COOKIE, bucket)
        answer = await client.get("/", headers={"host": "web-1.localhost"})
        assert answer.headers[RELEASE_HEADER] == "r2"


async def test_a_new_visitor_gets_a_cookie_and_keeps_it(
    edge: tuple[Path, ArtifactStore, httpx.AsyncClient],
) -> None:
    _, _, client = edge
    first = await client.get("/", headers={"host": "web-1.localhost"})
    bucket = first.cookies[VISITOR_COOKIE]
    again = [await client.get("/", headers={"host": "web-1.localhost"}) for _ in range(20)]
    assert {a.headers[RELEASE_HEADER] for a in again} == {first.headers[RELEASE_HEADER]}
    assert all(VISITOR_COOKIE not in a.cookies for a in again)
    assert client.cookies[VISITOR_COOKIE] == bucket


async def test_an_altered_artifact_is_refused_and_counted(
    tmp_path: Path, edge: tuple[Path, ArtifactStore, httpx.AsyncClient]
) -> None:
    routes, store, client = edge
    altered = store.put(site_folder(tmp_path / "three", "three"))
    store.blob(altered.files["assets/app.js"].sha256).write_text("alert('pwned')")
    update_site(routes, "web-3", SiteRoute(stable="r3", releases={"r3": altered.digest}))
    answer = await client.get("/", headers={"host": "web-3.localhost"})
    assert answer.status_code == 503
    assert "assets/app.js is altered" in answer.text
    with pytest.raises(ArtifactError, match="altered"):
        store.verify(altered.digest)
    stats = (await client.get("/_bdg/stats")).json()
    assert (stats["r3"]["requests"], stats["r3"]["errors"]) == (1, 1)


async def test_a_missing_file_is_refused(
    tmp_path: Path, edge: tuple[Path, ArtifactStore, httpx.AsyncClient]
) -> None:
    routes, store, client = edge
    gone = store.put(site_folder(tmp_path / "four", "four"))
    store.blob(gone.files["index.html"].sha256).unlink()
    update_site(routes, "web-4", SiteRoute(stable="r4", releases={"r4": gone.digest}))
    answer = await client.get("/", headers={"host": "web-4.localhost"})
    assert answer.status_code == 503
    assert "index.html is missing" in answer.text


async def test_the_beacon_counts_a_client_error_of_the_release(
    edge: tuple[Path, ArtifactStore, httpx.AsyncClient],
) -> None:
    _, _, client = edge
    await client.get("/", headers={"host": "r2.web-1.localhost"})
    sent = await client.post(
        "/_bdg/beacon", headers={"host": "web-1.localhost", RELEASE_HEADER: "r2"}
    )
    assert sent.status_code == 204
    bad = await client.post(
        "/_bdg/beacon", headers={"host": "web-1.localhost", RELEASE_HEADER: "x"}
    )
    assert bad.status_code == 400
    assert "release" in bad.json()["error"]
    stats = (await client.get("/_bdg/stats")).json()
    assert (stats["r2"]["requests"], stats["r2"]["errors"]) == (1, 1)


def test_hosts_and_buckets() -> None:
    assert parse_host("web-1.localhost:8790") == ("web-1", None)
    assert parse_host("r2.web-1.LOCALHOST") == ("web-1", "r2")
    assert parse_host("example.com") is None
    assert parse_host("a.b.c.localhost") is None
    assert in_canary(99, 1)
    assert not in_canary(100, 1)
    assert not in_canary(0, 0)


def test_a_build_without_index_html_is_no_site(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "main.js").write_text("x")
    with pytest.raises(ArtifactError, match=r"no index\.html"):
        ArtifactStore(tmp_path / "store").put(tmp_path / "lib")


def test_a_route_from_an_older_version_of_the_site_never_replaces_a_newer_one(
    tmp_path: Path,
) -> None:
    """A watch turn that loaded the site just before a promote must not put the old split back
    after the promote's route was written."""
    routes = tmp_path / "edge" / "routes.json"
    promoted = SiteRoute(version=12, stable="r2", releases={"r1": "d1", "r2": "d2"})
    stale = SiteRoute(version=11, stable="r1", canary="r2", percent=10, releases=promoted.releases)
    assert update_site(routes, "web-5", promoted)
    assert not update_site(routes, "web-5", stale)
    assert read_table(routes).sites["web-5"] == promoted
    newer = promoted.model_copy(update={"version": 13, "stable": "r1"})
    assert update_site(routes, "web-5", newer)
    assert read_table(routes).sites["web-5"] == newer
    unversioned = SiteRoute(stable="r2", releases=promoted.releases)  # a table of before
    assert update_site(routes, "web-5", unversioned)
    assert promoted.same_traffic(promoted.model_copy(update={"version": 40}))
    assert not promoted.same_traffic(stale)


async def test_the_edge_sees_each_rewrite_of_its_table_at_once(
    edge: tuple[Path, ArtifactStore, httpx.AsyncClient],
) -> None:
    """Two writes in one mtime tick are told apart (each is a new file renamed over)."""
    routes, _, client = edge
    client.cookies.set(VISITOR_COOKIE, "9999")
    table = read_table(routes).sites["web-1"]
    for stable in ("r2", "r1", "r2", "r1"):
        update_site(routes, "web-1", table.model_copy(update={"stable": stable, "canary": None}))
        answer = await client.get("/", headers={"host": "web-1.localhost"})
        assert answer.headers[RELEASE_HEADER] == stable


@pytest.mark.parametrize(
    ("host", "query"),
    [
        ("web-1.localhost", "release=r2%00"),  # NUL
        ("web-1.localhost", "release=" + "r" * 5000),  # far too long
        ("web-1.localhost", "release=r9"),  # no release of this site
        ("other.localhost", "release=r2"),  # a release of another site
        ("web-1.localhost", ""),  # none named
    ],
)
async def test_a_hostile_edge_beacon_is_refused_and_counts_nothing(
    edge: tuple[Path, ArtifactStore, httpx.AsyncClient], host: str, query: str
) -> None:
    """The page's beacon (what ``/_bdg/beacon.js`` posts on the edge): its body is never read,
    so only the named release matters."""
    _, _, client = edge
    answer = await client.post(
        f"/_bdg/beacon?{query}", headers={"host": host}, content=b"\x00" * 100_000
    )
    assert answer.status_code == 400
    assert (await client.get("/_bdg/stats")).json() == {}
