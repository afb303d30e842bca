"""Services' handlers wired as in production, on FastStream's in-memory broker or on real NATS.

Each service's reactions are registered by the real ``Consumer`` (the same durable pull
subscribers, the same manual acks, retries, StepFailed and dead letters) on one ``NatsBroker``,
run under ``TestNatsBroker``:

- ``memory``: FastStream's in-memory test broker, the job log in the eventsourcing library's
  in-memory recorder (``JobStore.in_memory()``, what ``bdg job replay`` uses). A publish runs
  the matching handlers before it returns, so a whole job runs in a few hundred milliseconds
  with no server at all.
- ``nats``: the same broker connected to real NATS (``with_real=True``, as FastStream's own
  suite does), streams declared, the log in real PostgreSQL.

The committed events of a reaction are published through the broker (``BrokerPublisher``), so
the next service's handler gets them, as the relay and the JetStream publisher do in a service.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

from faststream.nats import NatsBroker, NatsMessage, TestNatsBroker
from nats.js import JetStreamContext

from bdg_contracts import subjects, wire
from bdg_contracts.base import Event
from bdg_jobs.application import JobApplication
from bdg_jobs.store import JobStore, Recorded
from bdg_runtime.consumer import Consumer
from bdg_runtime.reactions import Reaction
from bdg_runtime.settings import Settings

MODES = ("memory", "nats")


def js_ack_reply(stream: str, delivered: int, sequence: int) -> str:
    """The reply subject JetStream gives a delivered message: it carries the delivery count
    (``msg.metadata``) that the consumer's retries and dead letters count on."""
    return f"$JS.ACK.{stream}.fast.{delivered}.{sequence}.{sequence}.0.0"


@dataclass
class BrokerPublisher:
    """Publishes committed events to the events stream through the broker."""

    broker: NatsBroker
    in_memory: bool
    sequence: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def publish(self, recorded: list[Recorded]) -> None:
        for r in recorded:
            await self.send(r.event, wire.headers_for(r.event, r.notification_id))

    async def send(
        self,
        event: Event,
        headers: dict[str, str],
        delivered: int = 1,
        subject: str | None = None,
    ) -> None:
        stream = subjects.events_stream()
        extra: dict[str, Any] = {}
        if self.in_memory:  # JetStream sets the reply subject; the test broker does not
            extra["reply_to"] = js_ack_reply(stream, delivered, next(self.sequence))
        await self.broker.publish(
            wire.encode(event),
            subject or subjects.subject_of(event),
            headers=headers,
            stream=stream,
            **extra,
        )


@dataclass
class BrokerDeadLetters:
    """The one JetStream call a consumer makes itself (a dead letter), through the in-memory
    broker; on real NATS the consumer gets the real JetStream context."""

    broker: NatsBroker

    async def publish(
        self, subject: str, payload: bytes, headers: dict[str, str] | None = None
    ) -> None:
        await self.broker.publish(payload, subject, headers=headers)


@dataclass
class FastStack:
    mode: str
    broker: NatsBroker
    store: JobStore
    js: JetStreamContext | None = None
    settings: Settings = field(default_factory=Settings)
    dead: list[dict[str, str]] = field(default_factory=list)
    publisher: BrokerPublisher = field(init=False)
    app: JobApplication = field(init=False)

    def __post_init__(self) -> None:
        self.publisher = BrokerPublisher(self.broker, in_memory=self.mode == "memory")
        self.app = JobApplication(self.store, self.publisher)

    @property
    def real(self) -> bool:
        return self.mode == "nats"

    def serve(
        self, service: str, reactions: list[Reaction], app: JobApplication | None = None
    ) -> Consumer:
        """Register ``service``'s reactions as its process does; call before ``running``.
        ``app``: the service's own application over the stack's store (default: the stack's)."""
        js = (
            self.js
            if self.js is not None
            else cast(JetStreamContext, BrokerDeadLetters(self.broker))
        )
        consumer = Consumer(service, self.broker, js, app or self.app, self.settings)
        for reaction in reactions:
            consumer.register(reaction)
        return consumer

    def watch_dead_letters(self, service: str) -> None:
        """Keep the headers of ``service``'s dead letters in ``dead``."""

        @self.broker.subscriber(subjects.dlq_subject(service))
        async def on_dead(msg: NatsMessage) -> None:
            self.dead.append(dict(msg.headers))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[FastStack]:
        async with TestNatsBroker(self.broker, with_real=self.real):
            yield self

    async def redeliver(self, event: Event, delivered: int = 2) -> None:
        """The same event again, as JetStream redelivers it (a new message id, so the stream's
        duplicate window does not drop it on real NATS)."""
        headers = wire.headers_for(event)
        headers["Nats-Msg-Id"] = f"{headers['Nats-Msg-Id']}:again{delivered}"
        await self.publisher.send(event, headers, delivered)
