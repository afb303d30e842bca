"""Debian's Chromium for every browser test, as a pytest plugin (``pytest_plugins`` in
tests/conftest.py), so no test module imports a fixture (ruff's F811 would flag the argument).

``browser``: Chromium launched by Playwright from /usr/bin/chromium (Playwright's own browser
downloads are not reachable here), one per test. ``artifacts``: the folder a test saves its
screenshots in, kept after the run (``BDG_TEST_ARTIFACTS``, default ``test-artifacts/`` at the
repository's top, git-ignored), one subfolder per test.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright, expect

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Playwright's expect() waits 5 s by default, a figure for an idle machine: the suite runs three
# workers on two cores, one of them perhaps running the live model, and a page's answer to a
# WebSocket frame (a fetch, a render) then took longer. A page that never answers still fails.
EXPECT_TIMEOUT_MS = 20_000


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """An empty folder named after the test, under the artifacts root (earlier runs' files of
    the same test are replaced, the others kept)."""
    top = Path(os.environ.get("BDG_TEST_ARTIFACTS", ROOT / "test-artifacts"))
    folder = top / re.sub(r"[^\w.-]+", "_", request.node.nodeid)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder
