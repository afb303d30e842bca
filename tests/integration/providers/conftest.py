"""A small built site in a real artifact store, and a sleep that records what it was asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from bdg_deployer.artifacts import ArtifactStore
from bdg_deployer.providers.files import ArtifactFiles
from bdg_deployer.providers.http_retry import Retry

SITE = {
    "index.html": b"<!doctype html><title>bdg</title><script src=assets/app.js></script>",
    "assets/app.js": b"console.log('hello')\n",
    "assets/logo.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
}
FAST = Retry(attempts=3, first_s=0.01, longest_s=5)


def build_site(root: Path, files: dict[str, bytes]) -> ArtifactFiles:
    folder = root / "site"
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    store = ArtifactStore(root / "artifacts")
    manifest = store.put(folder)
    return ArtifactFiles(store.verify(manifest.digest), store)


@pytest.fixture(name="site")
def site_fixture(tmp_path: Path) -> ArtifactFiles:
    return build_site(tmp_path, SITE)


class Sleeps:
    """Really waits, and keeps each wait: the retries' waits are what a test checks."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        import asyncio

        self.asked.append(seconds)
        await asyncio.sleep(seconds)


@pytest.fixture(name="sleeps")
def sleeps_fixture() -> Sleeps:
    return Sleeps()
