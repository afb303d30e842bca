"""JetStream loses acknowledged messages (its store wiped): the job still completes, from
PostgreSQL, each step once (the reconciler re-drives; the watchdog declares streams again)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bdg_contracts import commands as cmd
from bdg_contracts.states import JobState
from bdg_jobs.application import JobApplication
from bdg_jobs.store import JobStore
from bdg_jobs.user_commands import Caller, JobCommands
from bdg_runtime.bus import JetStreamPublisher, connect, ensure_streams
from tests.e2e.harness import Cluster, eventually, wait_for_state
from tests.e2e.test_job_lifecycle import assert_each_cause_once

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]
NATS_SERVER = Path(sys.executable).parent / "nats-server"


class OwnNats:
    def __init__(self, store_dir: Path) -> None:
        self.store_dir = store_dir
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                str(NATS_SERVER),
                "-js",
                "-sd",
                str(self.store_dir),
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[OwnNats]:
    server = OwnNats(tmp_path / "js")
    server.start()
    yield server
    server.kill()


async def _accepts(url: str) -> bool:
    try:
        nc = await connect(url, "probe")
    except Exception:
        return False
    await nc.close()
    return True


async def test_the_job_completes_after_the_broker_lost_its_store(
    database_url: str, namespace: str, own_nats: OwnNats, tmp_path: Path
) -> None:
    await eventually(lambda: _accepts(own_nats.url), 10, "nats to start")
    cluster = Cluster(database_url, own_nats.url, namespace, tmp_path)
    store = JobStore.from_url(database_url)
    try:
        cluster.start_all(("planner", "tester", "deployer"))
        nc = await connect(own_nats.url, "test")
        js = nc.jetstream()
        await ensure_streams(js, 600)
        commands = JobCommands(JobApplication(store, JetStreamPublisher(js)))
        caller = Caller("acme", "alice")
        job = await commands.create(caller, cmd.RequestJob(goal="survive", plan_approval="auto"))
        # No coder runs: PlanApproved sits in the stream, acknowledged, unconsumed.
        await wait_for_state(store, job.job_id, JobState.coding)
        await nc.close()
        own_nats.kill()
        shutil.rmtree(own_nats.store_dir)
        own_nats.start()
        await eventually(lambda: _accepts(own_nats.url), 10, "nats to restart")
        cluster.start("coder")
        history = await wait_for_state(store, job.job_id, JobState.awaiting_deploy_approval, 150)
        assert [e.name for e in history].count("CodingFinished") == 1
        assert_each_cause_once(history)
    finally:
        cluster.stop()
        print(cluster.output())
        store.close()
