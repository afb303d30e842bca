"""The edge's collector of cloud releases' client beacons (``edge/collector.py``): a keyed
report is counted for its release; hostile input (too big, NUL, non-finite or non-integer
numbers, unknown fields or release, another release's key) is a 4xx and counts nothing. In
process (httpx's ASGI transport); through the real edge process in
tests/integration/providers/test_vercel_canary_beacon.py."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import httpx
import pytest

from bdg_deployer.artifacts import ArtifactStore
from bdg_deployer.beacon.keys import release_key
from bdg_deployer.beacon.script import cloud_script, edge_script
from bdg_deployer.edge.app import create_app
from bdg_deployer.edge.collector import MAX_BATCH, MAX_BODY
from bdg_deployer.edge.routes import SiteRoute, update_site

pytestmark = pytest.mark.timeout(60)
SECRET = secrets.token_bytes(32)
DIGEST = "0" * 64  # never served here: the collector reads only who owns a release


@pytest.fixture(name="client")
def client_fixture(tmp_path: Path) -> httpx.AsyncClient:
    routes = tmp_path / "edge" / "routes.json"
    acme = SiteRoute(tenant="acme", site_id="s-acme", stable="r-a1", releases={"r-a1": DIGEST})
    evil = SiteRoute(tenant="evil", site_id="s-evil", stable="r-e1", releases={"r-e1": DIGEST})
    update_site(routes, "shop-1", acme)
    update_site(routes, "evil-1", evil)
    app = create_app(routes, ArtifactStore(tmp_path / "artifacts"), secret=SECRET)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://edge")


def report(release: str = "r-a1", views: object = 1, errors: object = 0, **extra: object) -> dict:
    key = release_key(SECRET, "acme", "s-acme", release)
    return {"release": release, "key": key, "views": views, "errors": errors, **extra}


async def beacons(client: httpx.AsyncClient) -> dict[str, dict[str, float]]:
    answer = await client.get("/_bdg/beacons")
    assert answer.status_code == 200
    return answer.json()  # type: ignore[no-any-return]


async def test_a_keyed_report_counts_views_and_errors(client: httpx.AsyncClient) -> None:
    for body in (report(views=1), report(views=1), report(views=0, errors=1)):
        answer = await client.post("/_bdg/collect", content=json.dumps(body))
        assert answer.status_code == 204
        assert answer.headers["access-control-allow-origin"] == "*"  # a page on another origin
    counted = (await beacons(client))["r-a1"]
    assert (counted["requests"], counted["errors"]) == (2, 1)
    # the edge's own served counts are apart: these pages were served by a cloud
    assert (await client.get("/_bdg/stats")).json() == {}


async def test_the_preflight_allows_a_cross_origin_post(client: httpx.AsyncClient) -> None:
    answer = await client.options("/_bdg/collect")
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-methods"] == "POST"


async def test_another_tenants_release_is_refused_with_a_forged_key(
    client: httpx.AsyncClient,
) -> None:
    """evil holds the key of its own release; it names acme's release with it."""
    forged = {
        "release": "r-a1",
        "key": release_key(SECRET, "evil", "s-evil", "r-e1"),
        "views": 0,
        "errors": 50,
    }
    answer = await client.post("/_bdg/collect", content=json.dumps(forged))
    assert answer.status_code == 403
    # nor does acme's key made for another site id count (tenant and site are both in it)
    moved = {**forged, "key": release_key(SECRET, "acme", "s-evil", "r-a1")}
    assert (await client.post("/_bdg/collect", content=json.dumps(moved))).status_code == 403
    assert await beacons(client) == {}


HOSTILE: list[tuple[str, bytes, int]] = [
    ("too big", json.dumps(report(pad="x" * MAX_BODY)).encode(), 413),
    ("NUL", json.dumps(report()).encode().replace(b'"r-a1"', b'"r-a1\\u0000"') + b"\x00", 400),
    ("NUL escaped", json.dumps(report()).replace("r-a1", "r-a1\\u0000").encode(), 400),
    ("NaN", json.dumps(report()).replace('"views": 1', '"views": NaN').encode(), 400),
    ("Infinity", json.dumps(report()).replace('"errors": 0', '"errors": Infinity').encode(), 400),
    ("-Infinity", json.dumps(report()).replace('"views": 1', '"views": -Infinity').encode(), 400),
    ("1e999", json.dumps(report()).replace('"views": 1', '"views": 1e999').encode(), 400),
    ("a float", json.dumps(report(views=0.5)).encode(), 400),
    ("a bool", json.dumps(report(views=True)).encode(), 400),
    ("negative", json.dumps(report(views=-5)).encode(), 400),
    ("a batch too big", json.dumps(report(views=MAX_BATCH + 1)).encode(), 400),
    ("nothing", json.dumps(report(views=0, errors=0)).encode(), 400),
    ("a string count", json.dumps(report(views="1")).encode(), 400),
    ("unknown field", json.dumps(report(tenant="acme")).encode(), 400),
    ("missing field", json.dumps({"release": "r-a1", "views": 1}).encode(), 400),
    ("not JSON", b"views=1&release=r-a1", 400),
    ("not UTF-8", b'{"release": "\xff"}', 400),
    ("a list", b"[1, 2]", 400),
    ("deep nesting", b"[" * 200 + b"]" * 200, 400),
    ("bad release name", json.dumps(report(release="../etc")).encode(), 400),
    ("bad key", json.dumps({**report(), "key": "k" * 64}).encode(), 400),
    ("unknown release", json.dumps(report(release="r-nobody")).encode(), 404),
]


@pytest.mark.parametrize(("why", "body", "status"), HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_hostile_input_is_refused_and_counts_nothing(
    client: httpx.AsyncClient, why: str, body: bytes, status: int
) -> None:
    answer = await client.post("/_bdg/collect", content=body)
    assert answer.status_code == status, (why, answer.text)
    assert answer.json()["error"]
    assert await beacons(client) == {}


async def test_a_body_bigger_than_it_says_is_cut_and_refused(client: httpx.AsyncClient) -> None:
    """A client announcing a small length (or none: chunked) still cannot make the edge read
    more than the cap."""

    async def chunks():  # type: ignore[no-untyped-def]
        yield json.dumps(report()).encode()[:-1]
        yield b" " * (4 * MAX_BODY) + b"}"

    answer = await client.post("/_bdg/collect", content=chunks())
    assert answer.status_code == 413
    assert await beacons(client) == {}


def test_the_scripts_carry_the_release_and_escape_what_they_embed() -> None:
    key = release_key(SECRET, "acme", "s-acme", "r-a1")
    cloud = cloud_script("https://edge.example/_bdg/collect", "r-a1", key).decode()
    assert '"release": "r-a1"' in cloud
    assert key in cloud
    assert "https://edge.example/_bdg/collect" in cloud
    assert "views = true" in cloud
    hostile = cloud_script('x"</script><script>alert(1)//', "r-a1", key).decode()
    assert "</script>" not in hostile
    local = edge_script("r-a1").decode()
    assert "/_bdg/beacon?release=r-a1" in local
    assert "views = false" in local


async def test_the_edge_serves_the_beacon_of_the_visitors_release(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "index.html").write_text("<script src=/_bdg/beacon.js></script>")
    digest = store.put(tmp_path / "one").digest
    routes = tmp_path / "routes.json"
    update_site(routes, "web-1", SiteRoute(stable="r1", releases={"r1": digest}))
    app = create_app(routes, store, seed=1)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://edge"
    ) as client:
        script = await client.get("/_bdg/beacon.js", headers={"host": "web-1.localhost"})
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("text/javascript")
        assert "/_bdg/beacon?release=r1" in script.text
        preview = await client.get("/_bdg/beacon.js", headers={"host": "r1.web-1.localhost"})
        assert "release=r1" in preview.text
        missing = await client.get("/_bdg/beacon.js", headers={"host": "nope.localhost"})
        assert missing.status_code == 404
        assert (await client.get("/_bdg/stats")).json() == {}  # the script is no page view
