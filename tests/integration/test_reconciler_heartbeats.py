"""The reconciler leaves a job alone while its step's handler is running, however long the
handler takes before it appends anything (the coder writes an attempt's events at its end), and
re-drives it once the handler is gone. Real PostgreSQL and NATS, the real consumer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID

import psycopg
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from bdg_contracts import events as ev
from bdg_contracts import subjects
from bdg_contracts.states import Step
from bdg_jobs.application import JobApplication
from bdg_jobs.migrations import migrate
from bdg_jobs.projector import catch_up
from bdg_jobs.store import JobStore
from bdg_runtime.bus import JetStreamPublisher, broker, connect, ensure_streams
from bdg_runtime.consumer import Consumer
from bdg_runtime.heartbeats import StepHeartbeats
from bdg_runtime.reactions import Delivery, Reaction
from bdg_runtime.reconciler import Reconciler
from bdg_runtime.redrive import REDRIVE_MARK, Redriver
from bdg_runtime.settings import Settings
from tests.conftest import Servers
from tests.unit.jobs import CAUSE, new_job
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(60)
AFTER = 1.0  # BDG_RECONCILE_AFTER_SECONDS of this test


@dataclass
class World:
    url: str
    nats_url: str
    nc: Client
    store: JobStore
    app: JobApplication
    reconciler: Reconciler

    def make_stale(self, job_id: UUID) -> None:
        """The job's last event an hour old (as after a long coding attempt), projected."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            catch_up(self.store, conn)
            conn.execute(
                """UPDATE agent_config SET "updatedAt" = now() - interval '1 hour'
                   WHERE "jobId" = %s""",
                (str(job_id),),
            )

    async def stalled(self, job_id: UUID) -> bool:
        return job_id in {j for j, _ in await self.reconciler.stalled_jobs()}

    async def heartbeat_rows(self, job_id: UUID) -> list[tuple[str, int]]:
        async with await psycopg.AsyncConnection.connect(self.url) as conn:
            cur = await conn.execute(
                "SELECT service, event_version FROM bdg_step_heartbeats WHERE job_id = %s",
                (str(job_id),),
            )
            rows = await cur.fetchall()
        return [(str(s), int(v)) for s, v in rows]


@pytest.fixture
async def world(database_url: str, namespace: str, servers: Servers) -> AsyncIterator[World]:
    migrate(database_url)
    nc = await connect(servers.nats_url, "test-reconciler")
    js = nc.jetstream()
    await ensure_streams(js, 60)
    store = JobStore.from_url(database_url)
    app = JobApplication(store, JetStreamPublisher(js))
    reconciler = Reconciler(database_url, Redriver(store, js), AFTER)
    try:
        yield World(database_url, servers.nats_url, nc, store, app, reconciler)
    finally:
        await nc.close()
        store.close()


async def coding_job(app: JobApplication) -> UUID:
    job = new_job()
    job.make_plan_ready(CAUSE, "- [ ] step")
    job.approve_plan(CAUSE, "alice")  # PlanApproved: the coder's trigger
    await app.start_from(job.collect())
    return job.job_id


async def test_a_running_handler_keeps_its_job_from_being_re_driven(world: World) -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def code(delivery: Delivery) -> None:
        started.set()
        await release.wait()  # a long attempt: nothing appended until it ends

    settings = Settings(bdg_ack_wait_seconds=0.6)  # beats every 0.2 s
    bus = broker(world.nats_url, 5)
    heartbeats = StepHeartbeats(world.url)
    consumer = Consumer("coder", bus, world.nc.jetstream(), world.app, settings, heartbeats)
    consumer.register(Reaction(ev.PlanApproved, Step.coding, code))
    redrives: list[Msg] = []

    async def heard(msg: Msg) -> None:
        if REDRIVE_MARK in (msg.headers or {}).get("Nats-Msg-Id", ""):
            redrives.append(msg)

    await bus.start()
    try:
        job_id = await coding_job(world.app)
        await world.nc.subscribe(subjects.job_events(new_job().tenant_id, job_id), cb=heard)
        await asyncio.wait_for(started.wait(), 20)

        async def beating() -> bool:
            return await world.heartbeat_rows(job_id) == [("coder", 3)]

        async def ended() -> bool:
            return await world.heartbeat_rows(job_id) == []

        async def redriven() -> bool:
            await world.reconciler.step()  # as its loop does, a pass at a time
            return len(redrives) == 1

        await eventually(beating, 10, "the handler's heartbeat row")
        world.make_stale(job_id)
        assert not await world.stalled(job_id)  # the handler is alive: not stalled
        await world.reconciler.step()
        assert redrives == []

        release.set()  # the handler ends (having appended nothing): its row goes
        await eventually(ended, 10, "the heartbeat row removed")
        assert await world.stalled(job_id)
        await eventually(redriven, 10, "the re-drive of PlanApproved")
    finally:
        release.set()
        await bus.stop()
        await heartbeats.close()


async def test_a_stale_heartbeat_is_a_dead_handler(world: World) -> None:
    job_id = await coding_job(world.app)
    world.make_stale(job_id)
    heartbeats = StepHeartbeats(world.url)
    try:
        await heartbeats.beat(job_id, "coder", 3)
        assert not await world.stalled(job_id)
        with psycopg.connect(world.url, autocommit=True) as conn:  # it stopped beating
            conn.execute("UPDATE bdg_step_heartbeats SET beat_at = now() - interval '1 minute'")
        assert await world.stalled(job_id)
    finally:
        await heartbeats.close()
