"""A new job is answered once committed, not once JetStream acknowledged its publish (issue #11
finding 7); the publish follows in the background, in order with the job's next events, and a
publish lost with NATS is made good by the outbox relay. Real PostgreSQL, a NATS of the test's own
that the test freezes (SIGSTOP) or kills."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from bdg_contracts import subjects, wire
from bdg_contracts.base import Event
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Job
from bdg_jobs.store import JobStore
from bdg_runtime.bus import JetStreamPublisher, connect, ensure_streams
from bdg_runtime.relay import Relay
from tests.own_nats import OwnNats
from tests.unit.jobs import CAUSE, new_job
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def own_nats(tmp_path: Path, namespace: str) -> AsyncIterator[OwnNats]:
    server = OwnNats(tmp_path / "js")
    await server.started()
    yield server
    if server.proc is not None and server.proc.poll() is None:
        server.proc.send_signal(signal.SIGCONT)  # a frozen server is not killed otherwise
    server.kill()


@pytest.fixture
async def bus(own_nats: OwnNats) -> AsyncIterator[tuple[Client, JetStreamContext]]:
    nc = await connect(own_nats.url, "test")
    js = nc.jetstream(timeout=10)
    await ensure_streams(js, 60)
    yield nc, js
    await nc.close()


@pytest.fixture
def store(database_url: str) -> Iterator[JobStore]:
    store = JobStore.from_url(database_url)
    yield store
    store.close()


async def streamed(js: JetStreamContext, job: Job) -> list[Event]:
    """The job's events in the stream, in stream order."""
    info = await js.stream_info(subjects.events_stream())
    found = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg(subjects.events_stream(), seq)
        event = wire.decode(msg.headers or {}, msg.data or b"")
        if event.job_id == job.job_id:
            found.append(event)
    return found


def freeze(nats: OwnNats, sig: signal.Signals) -> None:
    assert nats.proc is not None
    nats.proc.send_signal(sig)


async def test_a_new_job_is_answered_while_nats_holds_its_ack(
    own_nats: OwnNats, bus: tuple[Client, JetStreamContext], store: JobStore
) -> None:
    _, js = bus
    app = JobApplication(store, JetStreamPublisher(js))
    job = new_job()
    freeze(own_nats, signal.SIGSTOP)  # no ack can come now
    await asyncio.wait_for(
        app.start(job, publish_in_background=True), 5
    )  # before: waited here for the ack
    assert store.load(job.job_id).goal == job.goal  # committed
    publishing = asyncio.create_task(app.published(job.job_id))
    await asyncio.sleep(0)
    assert not publishing.done()  # the publish is still waiting for NATS
    freeze(own_nats, signal.SIGCONT)
    await asyncio.wait_for(publishing, 10)
    assert [e.version for e in await streamed(js, job)] == [1]


def record_call(job: Job) -> None:
    job.record_llm_call(
        CAUSE, role="r", model="m", request_hash="h", response="",
        prompt_tokens=1, completion_tokens=1, cost_usd=0.01,
    )  # fmt: skip


async def test_a_later_command_on_the_job_is_streamed_after_its_first_events(
    own_nats: OwnNats, bus: tuple[Client, JetStreamContext], store: JobStore
) -> None:
    _, js = bus
    app = JobApplication(store, JetStreamPublisher(js))
    job = new_job()
    record_call(job)  # two first events: published one at a time, each after the other's ack
    freeze(own_nats, signal.SIGSTOP)
    await asyncio.wait_for(app.start(job, publish_in_background=True), 5)
    deciding = asyncio.create_task(app.execute(job.job_id, record_call))

    async def committed() -> bool:
        return len(await asyncio.to_thread(store.history, job.job_id)) == 3

    # Its event is committed while the first ones wait for NATS: it must not overtake them.
    await eventually(committed, 10, "the third event committed")
    freeze(own_nats, signal.SIGCONT)
    await asyncio.wait_for(deciding, 10)
    assert [e.version for e in await streamed(js, job)] == [1, 2, 3]


async def test_a_publish_lost_with_nats_is_made_good_by_the_relay(
    own_nats: OwnNats, bus: tuple[Client, JetStreamContext], store: JobStore, database_url: str
) -> None:
    nc, js = bus
    app = JobApplication(store, JetStreamPublisher(nc.jetstream(timeout=1)))
    job = new_job()
    own_nats.kill()  # the publish path is gone: the answer must not depend on it
    await asyncio.wait_for(app.start(job, publish_in_background=True), 5)
    await asyncio.wait_for(app.published(job.job_id), 10)  # failed, logged, over
    assert store.load(job.job_id).goal == job.goal
    await own_nats.started()  # same store: the stream is still there, without the job
    relay = Relay(store, JetStreamPublisher(js), database_url)

    async def relayed() -> bool:
        try:
            await relay.step()
        except Exception:  # NATS still reconnecting: the relay's next pass tries again
            return False
        return [e.version for e in await streamed(js, job)] == [1]

    try:
        await eventually(relayed, 20, "the relay to publish the job")
    finally:
        await relay.close()
