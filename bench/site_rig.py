"""What the deploy benches share: PostgreSQL (``DATABASE_URL``, else an embedded one under the
run's home), the edge as its own process, and the deployer's ``Releasing`` over them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bdg_contracts import release_events as rv
from bdg_deployer.artifacts import ArtifactStore
from bdg_deployer.canary_policy import DEFAULT_STAGES
from bdg_deployer.edge.main import state_paths
from bdg_deployer.edge_client import EdgeClient
from bdg_deployer.releasing import EdgeSite, Releasing
from bdg_jobs.application import utc_now
from bdg_jobs.migrations import migrate
from bdg_jobs.site_commands import SiteCommands
from bdg_jobs.store import JobStore
from bdg_runtime.embedded import start_embedded
from tests.ports import free_port


@dataclass
class Rig:
    home: Path
    port: int
    store: JobStore
    releasing: Releasing

    @property
    def edge_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def ms(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] * 1000
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


async def bare_http(url: str, host: str, runs: int = 200) -> list[float]:
    """One GET through the edge on a kept-alive connection: the HTTP floor, in seconds."""
    took = []
    async with httpx.AsyncClient(base_url=url) as http:
        for _ in range(runs):
            t0 = time.perf_counter()
            await http.get("/", headers={"host": host})
            took.append(time.perf_counter() - t0)
    return took


@contextlib.asynccontextmanager
async def rig(stages: tuple[rv.CanaryStage, ...] = DEFAULT_STAGES) -> AsyncIterator[Rig]:
    home = Path(tempfile.mkdtemp(prefix="bdg-deploy-bench-"))
    home.chmod(0o755)  # noqa: ASYNC240  (once, before anything runs)
    embedded = None
    url = os.environ.get("DATABASE_URL")
    if not url:
        embedded = start_embedded(home / "stack", postgres=True, nats=False)
        url = embedded.database_url
    assert url
    await asyncio.to_thread(migrate, url)
    port = free_port()
    env = {**os.environ, "BDG_HOME": str(home), "BDG_EDGE_PORT": str(port)}
    edge = subprocess.Popen([sys.executable, "-m", "bdg_deployer.edge.main"], env=env)  # noqa: ASYNC220
    store = JobStore.from_url(url)
    routes, artifacts = state_paths(home)
    client = EdgeClient(f"http://127.0.0.1:{port}")
    site_edge = EdgeSite(routes, ArtifactStore(artifacts), client, port)
    releasing = Releasing(SiteCommands(store), site_edge, utc_now, stages=stages)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                await client.counts()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise SystemExit("the edge did not come up") from None
                await asyncio.sleep(0.05)  # a bench polling a process up, not a test
        yield Rig(home, port, store, releasing)
    finally:
        store.close()
        edge.terminate()
        edge.wait(10)
        if embedded is not None:
            embedded.stop()
        shutil.rmtree(home, ignore_errors=True)
