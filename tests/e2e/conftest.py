from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from bdg_jobs.application import JobApplication
from bdg_jobs.sources import SourceRules
from bdg_jobs.store import JobStore
from bdg_jobs.user_commands import Caller, JobCommands
from bdg_runtime.bus import JetStreamPublisher, connect, ensure_streams
from bdg_runtime.redrive import Redriver
from tests.conftest import Servers
from tests.e2e.harness import Cluster


@dataclass
class Client_:
    store: JobStore
    nc: Client
    js: JetStreamContext
    app: JobApplication
    commands: JobCommands
    redrive: Redriver
    caller: Caller


@pytest.fixture
async def client(
    database_url: str, namespace: str, servers: Servers, tmp_path: Path
) -> AsyncIterator[Client_]:
    store = JobStore.from_url(database_url)
    nc = await connect(servers.nats_url, "e2e-test")
    js = nc.jetstream()
    await ensure_streams(js, 600)
    app = JobApplication(store, JetStreamPublisher(js))
    redrive = Redriver(store, js)
    # The test's dir is granted, as Cluster.grants() grants it to the service processes.
    sources = SourceRules({t: (tmp_path,) for t in ("acme", "globex")})  # resolved by pytest
    commands = JobCommands(app, redrive, sources=sources)
    yield Client_(store, nc, js, app, commands, redrive, Caller("acme", "alice"))
    await nc.close()
    store.close()


@pytest.fixture
def cluster(
    database_url: str, namespace: str, servers: Servers, tmp_path: Path
) -> Iterator[Cluster]:
    cluster = Cluster(database_url, servers.nats_url, namespace, tmp_path)
    yield cluster
    cluster.stop()
    print(cluster.output())  # shown by pytest when the test failed
