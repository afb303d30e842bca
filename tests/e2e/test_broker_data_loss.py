"""JetStream loses acknowledged messages (its store wiped): the job still completes, from
PostgreSQL, each step once (the reconciler re-drives; the watchdog declares streams again)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bdg_contracts import commands as cmd
from bdg_contracts.states import JobState
from bdg_jobs.application import JobApplication
from bdg_jobs.store import JobStore
from bdg_jobs.user_commands import Caller, JobCommands
from bdg_runtime.bus import JetStreamPublisher, connect, ensure_streams
from tests.e2e.harness import Cluster, wait_for_state
from tests.e2e.test_job_lifecycle import assert_each_cause_once
from tests.own_nats import OwnNats

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]


@pytest.fixture
async def own_nats(tmp_path: Path) -> AsyncIterator[OwnNats]:
    server = OwnNats(tmp_path / "js")
    await server.started()
    yield server
    server.kill()


async def test_the_job_completes_after_the_broker_lost_its_store(
    database_url: str, namespace: str, own_nats: OwnNats, tmp_path: Path
) -> None:
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
        # No coder runs: PlanApproved sits in the stream, acknowledged, unconsumed. The other
        # services may still be starting: the restart may come in the middle of that too.
        await wait_for_state(store, job.job_id, JobState.coding)
        await nc.close()
        own_nats.kill(wipe=True)
        await own_nats.started()
        cluster.start("coder")
        history = await wait_for_state(store, job.job_id, JobState.awaiting_deploy_approval, 60)
        assert [e.name for e in history].count("CodingFinished") == 1
        assert_each_cause_once(history)
    finally:
        cluster.stop()
        print(cluster.output())
        store.close()
