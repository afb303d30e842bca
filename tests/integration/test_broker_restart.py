"""A service across a NATS restart: what it declares at start is asked again, and a consumer
whose pull request died with the old server gets messages again within the pull expiry."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.js import JetStreamContext

from bdg_contracts import events as ev
from bdg_contracts import subjects, wire
from bdg_contracts.base import Event
from bdg_contracts.states import Step
from bdg_jobs.application import JobApplication
from bdg_jobs.store import JobStore
from bdg_runtime.bus import (
    BusUnreachableError,
    JetStreamPublisher,
    StoreNotCreatedError,
    broker,
    connect,
    declare,
    ensure_streams,
)
from bdg_runtime.consumer import Consumer
from bdg_runtime.reactions import Delivery, Reaction
from bdg_runtime.settings import Settings
from tests.own_nats import OwnNats
from tests.unit.jobs import new_job
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(60)
SOON = 10.0  # seconds from a NATS restart to a consumer getting messages again


@pytest.fixture
async def own_nats(tmp_path: Path, namespace: str) -> AsyncIterator[OwnNats]:
    server = OwnNats(tmp_path / "js")
    await server.started()
    yield server
    server.kill()


async def test_a_start_up_declaration_asks_again_until_nats_is_back(
    own_nats: OwnNats, caplog: pytest.LogCaptureFixture
) -> None:
    nc = await connect(own_nats.url, "test")
    js = nc.jetstream(timeout=0.5)
    own_nats.kill()
    declaring = asyncio.create_task(declare("streams", lambda: ensure_streams(js, 60)))

    async def asked_in_vain() -> bool:
        return "declaring streams failed" in caplog.text

    await eventually(asked_in_vain, 10, "a declaration that NATS did not answer")
    await own_nats.started()
    await asyncio.wait_for(declaring, 20)
    assert (await js.stream_info(subjects.events_stream())).config.duplicate_window == 60
    await nc.close()


async def test_a_stream_store_jetstream_could_not_create_is_asked_for_again(
    own_nats: OwnNats, caplog: pytest.LogCaptureFixture
) -> None:
    """A real server refuses to create the events stream's store (a file where its messages'
    folder goes): error 10049, the answer CI once got from the shared server at a test's start.
    The server clears the half-made folder as it refuses, so asking again succeeds: a
    declaration says why it failed and asks again."""
    folder = own_nats.store_dir / "jetstream" / "$G" / "streams" / subjects.events_stream()

    def in_the_way() -> None:
        folder.mkdir(parents=True)
        (folder / "msgs").write_text("in the way")

    nc = await connect(own_nats.url, "test")
    js = nc.jetstream()
    in_the_way()
    with pytest.raises(StoreNotCreatedError, match=r"stream BDG_EVENTS_T\w+: .*\(10049\)"):
        await ensure_streams(js, 60)
    in_the_way()
    await declare("streams", lambda: ensure_streams(js, 60), within=20)
    assert "declaring streams failed (stream BDG_EVENTS_" in caplog.text
    assert (await js.stream_info(subjects.events_stream())).config.duplicate_window == 60
    await nc.close()


async def test_a_start_up_declaration_gives_up_when_nats_stays_away(own_nats: OwnNats) -> None:
    nc = await connect(own_nats.url, "test")
    js = nc.jetstream(timeout=0.2)
    own_nats.kill()
    with pytest.raises(BusUnreachableError, match="declaring streams"):
        await declare("streams", lambda: ensure_streams(js, 60), within=1)
    with contextlib.suppress(OSError):  # closing towards a dead server
        await nc.close()


async def _published(js: JetStreamContext, event: Event) -> bool:
    try:
        await js.publish(
            subjects.subject_of(event), wire.encode(event), headers=wire.headers_for(event)
        )
    except Exception:  # still reconnecting, JetStream not ready yet
        return False
    return True


async def test_a_consumer_whose_pull_died_with_nats_gets_messages_again_soon(
    own_nats: OwnNats, database_url: str
) -> None:
    nc = await connect(own_nats.url, "test")
    js = nc.jetstream()
    await ensure_streams(js, 60)
    store = JobStore.from_url(database_url)
    got: asyncio.Queue[Event] = asyncio.Queue()

    async def handle(delivery: Delivery) -> None:
        await got.put(delivery.event)

    bus = broker(own_nats.url, 5)
    consumer = Consumer("svc", bus, js, JobApplication(store, JetStreamPublisher(js)), Settings())
    consumer.register(Reaction(ev.JobRequested, Step.planning, handle))
    durable = consumer.durable(Reaction(ev.JobRequested, Step.planning, handle))
    await bus.start()
    try:
        first, second = new_job().collect()[0], new_job().collect()[0]
        assert await _published(js, first)
        assert await asyncio.wait_for(got.get(), 10) == first

        async def pull_waiting() -> bool:
            info = await js.consumer_info(subjects.events_stream(), durable)
            return bool(info.num_waiting)

        # The consumer's next pull request now waits in the server, which dies with it.
        await eventually(pull_waiting, 10, "the consumer's next pull request")
        own_nats.kill()
        await own_nats.started()  # same store: the stream and the consumer are still there
        await eventually(lambda: _published(js, second), 10, "a publish after the restart")

        async def second_delivered() -> None:
            # The first may come again: its ack may not have reached the disk before the kill.
            while await got.get() != second:
                pass

        # Not the 30 s a long-poll pull waited out: a lost pull is noticed at its expiry.
        await asyncio.wait_for(second_delivered(), SOON)
    finally:
        await bus.stop()
        await nc.close()
        store.close()
