"""The tester's browser check against a real sandboxd and Debian's Chromium inside it.

First the check alone, then through the tester's runner on small git repositories: a Node
project whose tests pass and whose build script writes dist/ gets the check, its screenshot kept
in the artifacts folder and named in the results.

Tiny built sites (what a Vite build leaves in dist/) are written into a fresh workspace; the
check serves them on the sandbox's loopback (no network) and drives Chromium over its DevTools
pipe. A good page passes with a PNG screenshot; a page that throws fails naming the error; the
PWA check passes an offline-capable app and fails one whose service worker caches nothing, one
whose worker throws, and an app that never renders although its static HTML shows offline.
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from bdg_contracts.sandbox import Limits
from bdg_sandbox.client import SandboxClient
from bdg_tester.browser.check import PNG_MAGIC, BrowserCheck, SandboxBrowserCheck
from bdg_tester.browser.plan import BrowserMode
from bdg_tester.browser.screenshots import ScreenshotStore
from bdg_tester.domain import TestRun, TestTask
from bdg_tester.sandbox.runner import SandboxTestRunner
from bdg_tester.settings import TesterSettings
from tests.git_repos import make_repo
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

# An app as Vite builds one: the HTML shows a heading before the module script replaces it.
APP_PAGE = (
    '<!doctype html><html><head><title>Notes</title><link rel="manifest" href="app.webmanifest">'
    '</head><body><div id="root"><h1>Notes</h1></div><script type="module" src="app.js"></script>'
    "</body></html>"
)
APP_RENDERS = """
navigator.serviceWorker.register("sw.js");
document.getElementById("root").innerHTML = "<h1>Notes</h1><p>2 notes, kept on this device</p>";
"""
# Waits for something that never comes (a store that never opens): it never renders.
APP_NEVER_RENDERS = """
navigator.serviceWorker.register("sw.js");
await new Promise(() => {});
document.getElementById("root").innerHTML = "<h1>Notes</h1><p>never shown</p>";
"""
APP_SW = CACHING_SW.replace('"app.webmanifest"]', '"app.webmanifest", "app.js"]')
# The worker's script throws as it starts: it never installs.
THROWING_SW = 'throw new Error("sw: precache list is undefined");\n'


@pytest.fixture(name="repos", scope="module")
def repos_fixture() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="bdg-browser-repos-"))  # the sandbox user reads it
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(name="client", scope="module")
async def client_fixture(repos: Path) -> AsyncIterator[SandboxClient]:
    daemon = await start_daemon(SANDBOX_SOURCE_ROOTS=f'["{repos}"]')
    daemon.grant({TENANT: [repos]})
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
    assert result.report.pwa is not None
    assert result.report.pwa.controlled


async def test_a_service_worker_that_caches_nothing_fails_offline(client: SandboxClient) -> None:
    files = {"index.html": PWA_PAGE, "app.webmanifest": MANIFEST, "sw.js": NETWORK_ONLY_SW}
    result = await check_site(client, files, pwa=True)
    assert not result.passed
    assert "PWA: with the network off the page fails" in result.report.analysis
    assert result.report.pwa is not None
    assert result.report.pwa.service_worker


async def test_an_app_that_renders_offline_passes(client: SandboxClient) -> None:
    files = {
        "index.html": APP_PAGE, "app.webmanifest": MANIFEST, "sw.js": APP_SW, "app.js": APP_RENDERS,
    }  # fmt: skip
    result = await check_site(client, files, pwa=True)
    assert result.passed, result.report.analysis


async def test_an_app_that_never_renders_fails_offline_despite_its_static_html(
    client: SandboxClient,
) -> None:
    """Its HTML's heading shows with the network off: that alone is not the app working."""
    files = {
        "index.html": APP_PAGE, "app.webmanifest": MANIFEST, "sw.js": APP_SW,
        "app.js": APP_NEVER_RENDERS,
    }  # fmt: skip
    result = await check_site(client, files, pwa=True)
    assert not result.passed
    assert "PWA: with the network off the page fails" in result.report.analysis
    assert "the app did not render within 10 s: only its static HTML showed ('Notes')" in (
        result.report.analysis
    )


async def test_a_broken_service_worker_fails_the_offline_check_naming_it(
    client: SandboxClient,
) -> None:
    files = {"index.html": PWA_PAGE, "app.webmanifest": MANIFEST, "sw.js": THROWING_SW}
    result = await check_site(client, files, pwa=True)
    assert not result.passed
    analysis = result.report.analysis
    assert "PWA: no service worker registered" in analysis
    assert "PWA: with the network off the page fails" in analysis


async def test_a_plain_page_fails_the_pwa_check_naming_what_is_missing(
    client: SandboxClient,
) -> None:
    result = await check_site(client, {"index.html": GOOD}, pwa=True)
    assert "PWA: manifest: the page links no web app manifest" in result.report.analysis
    assert "PWA: no service worker registered" in result.report.analysis


async def test_no_chromium_skips_with_the_reason(client: SandboxClient) -> None:
    result = await check_site(client, {"index.html": GOOD}, chromium="/usr/bin/no-chromium")
    assert result.passed
    assert result.screenshot == b""
    assert result.report.skipped == "chromium is not installed at /usr/bin/no-chromium"


# A web project without dependencies: its build copies the page into dist/ (what a Vite build
# leaves), its tests run with node --test.
BUILD = """\
import { cpSync, mkdirSync } from "node:fs";
const out = process.argv[2] || "dist";
mkdirSync(out, { recursive: true });
cpSync("src/index.html", `${out}/index.html`);
"""
NODE_TEST = """\
import { test } from "node:test";
import assert from "node:assert";
import { title } from "../src/title.js";

test("title", () => assert.strictEqual(title(), "Notes"));
"""


def web_repo(repos: Path, page: str, build: str = "node build.mjs") -> str:
    package = {
        "name": "notes",
        "type": "module",
        "scripts": {"test": "node --test", "build": build},
    }
    path = repos / uuid4().hex
    make_repo(
        path,
        {
            "package.json": json.dumps(package),
            "build.mjs": BUILD,
            "src/index.html": page,
            "src/title.js": 'export const title = () => "Notes";\n',
            "test/title.test.js": NODE_TEST,
        },
    )
    return str(path)


async def run_tests(
    client: SandboxClient,
    repo: str,
    artifacts: Path,
    mode: BrowserMode = BrowserMode.always,
    chromium: str = "/usr/bin/chromium",
) -> TestRun:
    settings = TesterSettings(
        bdg_test_browser_check=mode, bdg_test_artifacts_dir=artifacts, bdg_test_chromium=chromium
    )
    runner = SandboxTestRunner(client, settings)
    return await runner.run(TestTask("goal", 1, repo, TENANT, str(uuid4())))


async def test_a_web_project_that_passes_keeps_its_screenshot(
    client: SandboxClient, repos: Path, tmp_path: Path
) -> None:
    run = await run_tests(client, web_repo(repos, GOOD), tmp_path)
    assert run.passed, run.why_failed
    assert run.results.browser == "browser check of dist passed: 'Notes'"
    kept = ScreenshotStore(tmp_path).path(run.results.screenshot)
    assert kept.read_bytes().startswith(PNG_MAGIC)


async def test_a_web_project_whose_page_throws_fails_naming_the_error(
    client: SandboxClient, repos: Path, tmp_path: Path
) -> None:
    run = await run_tests(client, web_repo(repos, THROWS), tmp_path)
    assert not run.passed
    assert run.results.failed == 0  # its tests passed: the browser check failed the run
    assert "TypeError: notes store is undefined" in run.why_failed
    assert ScreenshotStore(tmp_path).path(run.results.screenshot).stat().st_size > 0


async def test_a_failing_build_fails_the_run_with_its_output(
    client: SandboxClient, repos: Path, tmp_path: Path
) -> None:
    repo = web_repo(repos, GOOD, build="node -e \"throw new Error('vite: cannot resolve ./App')\"")
    run = await run_tests(client, repo, tmp_path)
    assert not run.passed
    assert "The build for the browser check failed" in run.why_failed
    assert "vite: cannot resolve ./App" in run.why_failed


async def test_never_leaves_the_browser_out(
    client: SandboxClient, repos: Path, tmp_path: Path
) -> None:
    run = await run_tests(client, web_repo(repos, THROWS), tmp_path, BrowserMode.never)
    assert run.passed, run.why_failed
    assert run.results.browser == ""
    assert run.results.screenshot == ""


async def test_no_chromium_passes_the_run_with_the_reason_recorded(
    client: SandboxClient, repos: Path, tmp_path: Path
) -> None:
    run = await run_tests(client, web_repo(repos, THROWS), tmp_path, chromium="/opt/no/chromium")
    assert run.passed, run.why_failed
    assert (
        run.results.browser
        == "browser check skipped: chromium is not installed at /opt/no/chromium"
    )
    assert run.results.screenshot == ""


async def test_a_site_built_into_build_is_checked_there(
    client: SandboxClient, repos: Path, tmp_path: Path
) -> None:
    run = await run_tests(client, web_repo(repos, GOOD, build="node build.mjs build"), tmp_path)
    assert run.passed, run.why_failed
    assert run.results.browser == "browser check of build passed: 'Notes'"


async def test_a_build_that_writes_no_page_fails_the_run(
    client: SandboxClient, repos: Path, tmp_path: Path
) -> None:
    run = await run_tests(client, web_repo(repos, GOOD, build="node -e 0"), tmp_path)
    assert not run.passed
    assert "wrote no dist/index.html or build/index.html" in run.why_failed
