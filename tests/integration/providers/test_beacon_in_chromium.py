"""The published beacon script in a real browser (Debian's Chromium): a page on one origin (as
a Vercel deployment is) reports its view and its first error, or unhandled rejection, to the
edge's collector on another origin, and the edge counts them for the page's release."""

from __future__ import annotations

import functools
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.async_api import Browser

from bdg_deployer.beacon.keys import load_secret, release_key, secret_path
from bdg_deployer.beacon.publish import collector_url
from bdg_deployer.beacon.script import PATH, cloud_script
from bdg_deployer.edge.main import state_paths
from bdg_deployer.edge.routes import SiteRoute, update_site
from bdg_deployer.edge_client import EdgeClient
from tests.integration.test_edge_canary import EdgeProcess, edge_up
from tests.ports import free_port
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(120)
PAGE = """<!doctype html><title>shop</title>
<script src="/_bdg/beacon.js"></script>
<script>%s</script>
"""
THROWS = (
    'setTimeout(() => { throw new Error("boom"); }); setTimeout(() => { throw new Error("2"); });'
)
REJECTS = 'Promise.reject(new Error("nope"));'


@pytest.fixture(name="edge")
async def edge_fixture(tmp_path: Path) -> AsyncIterator[tuple[EdgeClient, bytes, Path]]:
    edge = EdgeProcess(tmp_path, free_port())
    edge.start()
    try:
        client = EdgeClient(f"http://127.0.0.1:{edge.port}")
        await edge_up(client)
        routes, _ = state_paths(tmp_path)
        yield client, load_secret(secret_path(routes.parent)), routes
    finally:
        assert edge.proc is not None
        edge.proc.terminate()
        edge.proc.wait(10)


@pytest.fixture(name="origin")
def origin_fixture(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A static origin standing for the cloud's deployment."""
    root = tmp_path / "deployment"
    (root / "_bdg").mkdir(parents=True)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("release", "code"), [("r-throws", THROWS), ("r-rejects", REJECTS)])
async def test_a_page_reports_its_view_and_first_error_across_origins(
    edge: tuple[EdgeClient, bytes, Path],
    origin: tuple[str, Path],
    release: str,
    code: str,
    browser: Browser,  # Debian's Chromium, from tests/chromium.py
) -> None:
    client, secret, routes = edge
    url, root = origin
    update_site(
        routes,
        "shop-1",
        SiteRoute(tenant="acme", site_id="s-1", stable=release, releases={release: "0" * 64}),
    )
    key = release_key(secret, "acme", "s-1", release)
    script = cloud_script(collector_url("", client.base_url), release, key)
    (root / PATH).write_bytes(script)  # what the deployer adds to the release's files
    (root / "index.html").write_text(PAGE % code)

    page = await browser.new_page()
    await page.goto(f"{url}/index.html")

    async def reported() -> bool:
        counted = (await client.beacons()).get(release)
        return counted is not None and counted.errors >= 1 and counted.requests >= 1

    await eventually(reported, timeout=30, what="the page's beacon")
    await page.close()  # nothing more can come from it
    counted = (await client.beacons())[release]
    assert (counted.requests, counted.errors) == (1, 1)  # the second error is the same page
    assert await client.counts() == {}  # the edge served none of it
