"""JetStream consumers: one durable per (service, event), retries with backoff, dead letters.

Copies of a service share each durable pull consumer, so work is split and each event is
handled by one copy. Idempotency is the job's own record of reactions (``Delivery.react``).
Each message becomes the reaction's own ``Delivery[E]``; one that decodes to another class is
refused before its handler runs (``EventMismatchError``: dead-lettered with the reason at once).
"""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID

from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig

from bdg_contracts import subjects, wire
from bdg_contracts.base import Event
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Job
from bdg_jobs.errors import DomainError
from bdg_runtime.cancel_watch import unless_cancelled
from bdg_runtime.heartbeats import StepHeartbeats
from bdg_runtime.observed import observed
from bdg_runtime.reactions import AnyReaction, Delivery, StepError
from bdg_runtime.redrive import REDRIVE_MARK
from bdg_runtime.settings import Settings

log = logging.getLogger(__name__)
# A pull request waits in the server until a message comes or it expires. One that a NATS
# restart took away is only noticed at its expiry (the client keeps waiting on its inbox), so
# this bounds how long a consumer sits idle after a restart; idle re-pulls cost next to nothing.
PULL_EXPIRY_SECONDS = 5.0


class Consumer:
    def __init__(
        self,
        service: str,
        broker: NatsBroker,
        js: JetStreamContext,
        app: JobApplication,
        settings: Settings,
        heartbeats: StepHeartbeats | None = None,
        nc: Client | None = None,  # to hear a job's cancellation while its step runs
    ) -> None:
        self.service, self.broker, self.js, self.nc = service, broker, js, nc
        self.app, self.settings, self.heartbeats = app, settings, heartbeats
        self.stream = JStream(name=subjects.events_stream(), declare=False)
        self.configs: dict[str, ConsumerConfig] = {}
        self.in_flight = 0
        self.idle = asyncio.Event()
        self.idle.set()

    def durable(self, reaction: AnyReaction) -> str:
        return f"{self.service}-{reaction.durable}"

    def register(self, reaction: AnyReaction) -> None:
        timeout = reaction.timeout or self.settings.bdg_step_timeout_seconds
        config = ConsumerConfig(
            ack_policy=JsAckPolicy.EXPLICIT,
            ack_wait=self.settings.bdg_ack_wait_seconds,
            max_deliver=-1,  # the handler counts deliveries and dead-letters itself
        )
        # Kept so the watchdog can declare the consumer again if JetStream loses it.
        self.configs[self.durable(reaction)] = ConsumerConfig(
            durable_name=self.durable(reaction),
            filter_subject=subjects.events_named(reaction.event),
            ack_policy=config.ack_policy,
            ack_wait=config.ack_wait,
            max_deliver=config.max_deliver,
        )

        @self.broker.subscriber(
            subjects.events_named(reaction.event),
            stream=self.stream,
            durable=self.durable(reaction),
            pull_sub=PullSub(batch_size=1, timeout=PULL_EXPIRY_SECONDS),
            config=config,
            ack_policy=AckPolicy.MANUAL,
        )
        async def on_message(msg: NatsMessage) -> None:
            # Decoded by our own wire format (class from headers), not FastStream's JSON guess.
            await self.deliver(reaction, msg.body, msg, timeout)

    async def deliver(
        self, reaction: AnyReaction, body: bytes, msg: NatsMessage, limit: float
    ) -> None:
        self.in_flight += 1
        self.idle.clear()
        try:
            await self._deliver(reaction, body, msg, limit)
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self.idle.set()

    async def _deliver(
        self, reaction: AnyReaction, body: bytes, msg: NatsMessage, limit: float
    ) -> None:
        raw = msg.raw_message
        attempt = raw.metadata.num_delivered
        try:
            event = wire.decode(raw.headers or {}, body)
        except Exception as error:  # malformed on the wire: retrying cannot help
            await self.dead_letter(raw.headers or {}, body, f"undecodable: {error}", attempt)
            await msg.ack()
            return
        self._log_delivery(reaction, raw.headers or {}, event.name, attempt)
        with observed(self.service, self.durable(reaction), raw.subject, event, attempt) as seen:
            seen.outcome = await self._handle(reaction, event, body, msg, limit, attempt)

    async def _handle(
        self,
        reaction: AnyReaction,
        event: Event,
        body: bytes,
        msg: NatsMessage,
        limit: float,
        attempt: int,
    ) -> str:
        """Runs the handler; says how it went: ok, stopped (the job was cancelled meanwhile),
        retry (nacked) or dead_letter."""
        raw = msg.raw_message
        outcome = "ok"
        job_id = event.job_id if type(event).aggregate == "job" else None
        heartbeat = asyncio.create_task(self._heartbeat(msg, job_id, event.version))
        try:
            delivery = reaction.delivery(self.service, event, self.app, attempt)
            work = reaction.handle(delivery)
            if not await asyncio.wait_for(unless_cancelled(self.nc, event, work), limit):
                log.info("%s stopped %s of job %s: cancelled", self.service, event.name, job_id)
                outcome = "stopped"
        except Exception as error:
            reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            if attempt < self.settings.bdg_max_deliver and not isinstance(error, StepError):
                delays = self.settings.bdg_backoff_seconds
                delay = delays[min(attempt - 1, len(delays) - 1)]
                log.warning(
                    "%s on %s failed (delivery %d), retry in %.1fs: %s",
                    self.service,
                    event.name,
                    attempt,
                    delay,
                    reason,
                )
                await msg.nack(delay=delay)
                return "retry"
            await self.give_up(reaction, event, attempt, reason)
            await self.dead_letter(raw.headers or {}, body, reason, attempt)
            outcome = "dead_letter"
        finally:
            heartbeat.cancel()
            if self.heartbeats is not None and job_id is not None:
                await self.heartbeats.end(job_id, self.service)
        await msg.ack()
        return outcome

    def _log_delivery(
        self, reaction: AnyReaction, headers: dict[str, str], name: str, attempt: int
    ) -> None:
        """Which consumer got which message; a re-drive (rare) is worth an INFO line."""
        msg_id = headers.get("Nats-Msg-Id", "")
        level = logging.INFO if REDRIVE_MARK in msg_id else logging.DEBUG
        log.log(level, "%s got %s %s (delivery %d)", self.durable(reaction), name, msg_id, attempt)

    async def _heartbeat(self, msg: NatsMessage, job_id: UUID | None, version: int) -> None:
        """A short ack wait redelivers quickly after a crash; a live handler keeps its message,
        and tells the reconciler (through the table) that its job's step is being worked on."""
        while True:
            if self.heartbeats is not None and job_id is not None:
                await self.heartbeats.beat(job_id, self.service, version)
            await asyncio.sleep(self.settings.bdg_ack_wait_seconds / 3)
            await msg.in_progress()

    async def give_up(self, reaction: AnyReaction, event: Event, attempt: int, reason: str) -> None:
        delivery = Delivery(self.service, event, self.app, attempt)

        def fail(job: Job) -> None:
            job.fail_step(
                delivery.cause(),
                reaction.step,
                self.service,
                reason[:2000],
                event.version,
                deliveries=delivery.attempt,
            )

        if type(event).aggregate != "job":
            # A repository's event: its service records its own failure (IndexFailed); the
            # dead letter keeps the message for an operator.
            log.warning(
                "%s gave up on %s of %s: %s", self.service, event.name, event.job_id, reason
            )
            return
        try:
            await self.app.execute(event.job_id, fail)
        except DomainError as error:
            log.info("no StepFailed for job %s: %s", event.job_id, error)

    async def dead_letter(
        self, headers: dict[str, str], body: bytes, reason: str, attempt: int
    ) -> None:
        dlq_headers = {k: v for k, v in headers.items() if k != "Nats-Msg-Id"}
        dlq_headers.update(
            {
                "Bdg-Error": reason[:2000],
                "Bdg-Deliveries": str(attempt),
                "Bdg-Service": self.service,
            }
        )
        if "Nats-Msg-Id" in headers:
            dlq_headers["Nats-Msg-Id"] = f"dlq:{self.service}:{headers['Nats-Msg-Id']}"
        await self.js.publish(subjects.dlq_subject(self.service), body, headers=dlq_headers)
        log.error(
            "%s dead-lettered a message after %d deliveries: %s", self.service, attempt, reason
        )
