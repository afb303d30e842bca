"""The tester's browser check against a real sandboxd and Debian's Chromium inside it.

Tiny built sites (what a Vite build leaves in dist/) are written into a fresh workspace; the
check serves them on the sandbox's loopback (no network) and drives Chromium over its DevTools
pipe. A good page passes with a PNG screenshot; a page that throws fails naming the error; the
PWA check passes an offline-capable app and fails one whose service worker caches nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest

from bdg_contracts.sandbox import Limits
from bdg_sandbox.client import SandboxClient
from bdg_tester.browser.check import PNG_MAGIC, BrowserCheck, SandboxBrowserCheck
from tests.sandbox.daemon import start_daemon

pytestmark = pytest.mark.timeout(180)
TENANT = "browser-it"
LIMITS = Limits(memory_mb=2048, pids=1024, tmp_mb=512, timeout_s=90)
GOOD = "<!doctype html><html><head><title>Notes</title></head><body><h1>Notes</h1></body></html>"
THROWS = (
    "<!doctype html><html><head><title>Broken</title></head><body><h1>Broken</h1>"
    '<script type="module">throw new TypeError("notes store is undefined")</script>'
    "</body></html>"
)
PWA_PAGE = (
    '<!doctype html><html><head><title>Notes</title><link rel="manifest" href="app.webmanifest">'
    '</head><body><h1>Notes</h1><script>navigator.serviceWorker.register("sw.js")</script>'
    "</body></html>"
)
MANIFEST = '{"name": "Notes", "short_name": "Notes", "start_url": ".", "display": "standalone"}'
CACHING_SW = """
self.addEventListener("install", e => {
  e.waitUntil(caches.open("v1").then(c => c.addAll(["./", "index.html", "app.webmanifest"])));
  self.skipWaiting();
});
self.addEventListener("activate", e => e.waitUntil(self.clients.claim()));
self.addEventListener("fetch", e =>
  e.respondWith(caches.match(e.request).then(r => r || fetch(e.request))));
"""
# Registers and controls the page but caches nothing: every request still needs the network.
NETWORK_ONLY_SW = """
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", e => e.waitUntil(self.clients.claim()));
self.addEventListener("fetch", e => e.respondWith(fetch(e.request)));
"""


@pytest.fixture(name="client", scope="module")
async def client_fixture() -> AsyncIterator[SandboxClient]:
    daemon = await start_daemon()
    client = daemon.client()
    yield client
    await client.close()
    daemon.stop()
    daemon.remove()


async def check_site(
    client: SandboxClient, files: dict[str, str], *, pwa: bool = False, chromium: str = ""
) -> BrowserCheck:
    workspace = f"site-{secrets.token_hex(4)}"
    await client.create_workspace(TENANT, workspace)
    try:
        for path, text in files.items():
            await client.write_file(TENANT, workspace, f"dist/{path}", text.encode())
        checker = SandboxBrowserCheck(client, LIMITS, *([chromium] if chromium else []))
        result = await checker.check(TENANT, workspace, "dist", pwa=pwa)
        left = {e.path for e in await client.list_files(TENANT, workspace)}
        assert not any(p.startswith(".bdg-browser") for p in left), left
        return result
    finally:
        await client.drop_workspace(TENANT, workspace)


async def test_a_good_page_passes_with_a_png_screenshot(client: SandboxClient) -> None:
    result = await check_site(client, {"index.html": GOOD})
    assert result.passed, result.report.analysis
    assert result.report.title == "Notes"
    assert len(result.screenshot) > 0
    assert result.screenshot.startswith(PNG_MAGIC)


async def test_a_page_that_throws_fails_naming_the_error(client: SandboxClient) -> None:
    result = await check_site(client, {"index.html": THROWS})
    assert not result.passed
    assert "TypeError: notes store is undefined" in result.report.analysis
    assert result.screenshot.startswith(PNG_MAGIC)  # what the broken page showed


async def test_an_offline_capable_pwa_passes(client: SandboxClient) -> None:
    files = {"index.html": PWA_PAGE, "app.webmanifest": MANIFEST, "sw.js": CACHING_SW}
    result = await check_site(client, files, pwa=True)
    assert result.passed, result.report.analysis
    assert result.report.pwa is not None and result.report.pwa.controlled


async def test_a_service_worker_that_caches_nothing_fails_offline(client: SandboxClient) -> None:
    files = {"index.html": PWA_PAGE, "app.webmanifest": MANIFEST, "sw.js": NETWORK_ONLY_SW}
    result = await check_site(client, files, pwa=True)
    assert not result.passed
    assert "PWA: with the network off the page fails" in result.report.analysis
    assert result.report.pwa is not None and result.report.pwa.service_worker


async def test_a_plain_page_fails_the_pwa_check_naming_what_is_missing(
    client: SandboxClient,
) -> None:
    result = await check_site(client, {"index.html": GOOD}, pwa=True)
    assert "PWA: manifest: the page links no web app manifest" in result.report.analysis
    assert "PWA: no service worker registered" in result.report.analysis


async def test_no_chromium_skips_with_the_reason(client: SandboxClient) -> None:
    result = await check_site(client, {"index.html": GOOD}, chromium="/usr/bin/no-chromium")
    assert result.passed and result.screenshot == b""
    assert result.report.skipped == "chromium is not installed at /usr/bin/no-chromium"
