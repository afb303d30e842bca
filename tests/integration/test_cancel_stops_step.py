"""Cancelling a job stops the step working on it at once (its model call with it), and only
that job's step. Real PostgreSQL and NATS, the real consumer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import UUID

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from bdg_contracts import events as ev
from bdg_contracts.states import Step
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Job
from bdg_jobs.migrations import migrate
from bdg_jobs.store import JobStore
from bdg_runtime.bus import JetStreamPublisher, broker, connect, ensure_streams
from bdg_runtime.cancel_watch import cancellation_subject
from bdg_runtime.consumer import Consumer
from bdg_runtime.reactions import Delivery, Reaction
from bdg_runtime.settings import Settings
from tests.conftest import Servers
from tests.unit.jobs import CAUSE, new_job
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(60)


@dataclass
class World:
    nats_url: str
    nc: Client
    app: JobApplication


@pytest.fixture
async def world(database_url: str, namespace: str, servers: Servers) -> AsyncIterator[World]:
    migrate(database_url)
    nc = await connect(servers.nats_url, "test-cancel-stops-step")
    js = nc.jetstream()
    await ensure_streams(js, 60)
    store = JobStore.from_url(database_url)
    try:
        yield World(servers.nats_url, nc, JobApplication(store, JetStreamPublisher(js)))
    finally:
        await nc.close()
        store.close()


async def coding_job(app: JobApplication) -> UUID:
    job = new_job()
    job.make_plan_ready(CAUSE, "- [ ] step")
    job.approve_plan(CAUSE, "alice")  # PlanApproved: the coder's trigger
    await app.start_from(job.collect())
    return job.job_id


def cancel(job: Job) -> None:
    job.cancel(CAUSE, "the person changed their mind")


async def test_cancelling_a_job_stops_its_running_step(world: World) -> None:
    started: dict[UUID, asyncio.Event] = {}
    stopped: set[UUID] = set()
    release = asyncio.Event()

    async def code(delivery: Delivery[ev.PlanApproved]) -> None:
        started.setdefault(delivery.event.job_id, asyncio.Event()).set()
        try:
            await release.wait()  # a model call that would run for minutes
        except asyncio.CancelledError:
            stopped.add(delivery.event.job_id)
            raise

    # Two copies of the service (one message at a time each), so both jobs' steps run at once.
    buses = [broker(world.nats_url, 5) for _ in range(2)]
    consumers = [
        Consumer("coder", bus, world.nc.jetstream(), world.app, Settings(), nc=world.nc)
        for bus in buses
    ]
    for consumer in consumers:
        consumer.register(Reaction(ev.PlanApproved, Step.coding, code))
        await consumer.broker.start()

    def in_flight() -> int:
        return sum(c.in_flight for c in consumers)

    try:
        cancelled, kept = await coding_job(world.app), await coding_job(world.app)

        async def both_started() -> bool:
            return cancelled in started and kept in started

        await eventually(both_started, 20, "both jobs' steps running")
        await world.app.execute(cancelled, cancel)

        async def cancelled_stopped() -> bool:
            return cancelled in stopped and in_flight() == 1

        await eventually(cancelled_stopped, 20, "the cancelled job's step stopped")
        assert kept not in stopped  # the other job's step runs on
        release.set()

        async def idle() -> bool:
            return in_flight() == 0

        await eventually(idle, 20, "the other step ended by itself")
        assert stopped == {cancelled}
    finally:
        release.set()
        for bus in buses:
            await bus.stop()


async def test_a_step_that_ends_first_is_not_disturbed(world: World) -> None:
    """Without a cancellation the handler's own outcome stands: its error is retried."""
    failures: list[UUID] = []

    async def code(delivery: Delivery[ev.PlanApproved]) -> None:
        failures.append(delivery.event.job_id)
        if len(failures) == 1:
            raise RuntimeError("the model endpoint went away")

    bus = broker(world.nats_url, 5)
    settings = Settings(bdg_backoff_seconds=(0.1,))
    consumer = Consumer("coder", bus, world.nc.jetstream(), world.app, settings, nc=world.nc)
    consumer.register(Reaction(ev.PlanApproved, Step.coding, code))
    await bus.start()
    try:
        job_id = await coding_job(world.app)

        async def retried() -> bool:
            return failures == [job_id, job_id] and consumer.in_flight == 0

        await eventually(retried, 20, "the failed step delivered again")
    finally:
        await bus.stop()


async def test_hearing_the_cancellation_again_stops_no_handler_of_it(world: World) -> None:
    """The auditor handles ``JobCancelled`` itself. The relay may publish an event again: the
    stream drops the copy, but plain subscribers hear it. Neither that copy nor the event being
    handled may stop the handler (its audit file would never be written)."""
    started, release = asyncio.Event(), asyncio.Event()
    ended: list[UUID] = []

    async def audit(delivery: Delivery[ev.JobCancelled]) -> None:
        started.set()
        await release.wait()  # the audit file waiting for S3
        ended.append(delivery.event.job_id)

    bus = broker(world.nats_url, 5)
    consumer = Consumer("auditor", bus, world.nc.jetstream(), world.app, Settings(), nc=world.nc)
    consumer.register(Reaction(ev.JobCancelled, Step.deploying, audit))
    await bus.start()
    heard: list[bytes] = []

    async def listen(msg: Msg) -> None:
        heard.append(msg.data)

    try:
        job_id = await coding_job(world.app)
        recorded = await world.app.execute(job_id, cancel)

        async def handling() -> bool:
            return started.is_set()

        await eventually(handling, 20, "the cancellation being handled")
        watch = await world.nc.subscribe(cancellation_subject(recorded[0].event), cb=listen)
        await world.app.publisher.publish(recorded)  # the relay's second publish

        async def copy_heard() -> bool:
            return bool(heard)

        await eventually(copy_heard, 20, "the copy on the subject")
        await world.nc.flush()
        await watch.unsubscribe()
        release.set()

        async def audited() -> bool:
            return ended == [job_id] and consumer.in_flight == 0

        await eventually(audited, 20, "the handler ending by itself")
    finally:
        release.set()
        await bus.stop()
