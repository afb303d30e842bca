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
from playwright.async_api import Browser, async_playwright

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


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
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
