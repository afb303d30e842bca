"""JetStream streams and the publisher of committed events."""

from __future__ import annotations

import asyncio

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

from bdg_contracts import subjects, wire
from bdg_jobs.store import Recorded


def events_stream_config(duplicate_window: float) -> StreamConfig:
    return StreamConfig(
        name=subjects.events_stream(),
        subjects=[subjects.all_events()],
        storage=StorageType.FILE,
        duplicate_window=duplicate_window,
    )


def dlq_stream_config() -> StreamConfig:
    return StreamConfig(
        name=subjects.dlq_stream(), subjects=[subjects.all_dlq()], storage=StorageType.FILE
    )


async def ensure_streams(js: JetStreamContext, duplicate_window: float) -> None:
    """Create or update both streams; safe to call from every service at start."""
    for config in (events_stream_config(duplicate_window), dlq_stream_config()):
        try:
            await js.stream_info(config.name or "")
        except NotFoundError:
            await js.add_stream(config)
        else:
            await js.update_stream(config)


class BusUnreachableError(ConnectionError):
    """NATS did not answer at start."""


async def connect(url: str, name: str, first_attempt_seconds: float = 10.0) -> Client:
    """Reconnect forever once connected (NATS restarts, failovers), but fail clearly when the
    server cannot be reached at start, instead of hanging."""
    try:
        async with asyncio.timeout(first_attempt_seconds):
            return await nats.connect(
                url,
                name=name,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                connect_timeout=2,
            )
    except (TimeoutError, OSError, nats.errors.NoServersError) as error:
        reason = str(error) or "timed out"
        raise BusUnreachableError(f"cannot reach NATS at {url}: {reason}") from error


class JetStreamPublisher:
    """Publishes committed events with ``Nats-Msg-Id = <job>:<version>`` (dedup in the stream)."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js

    async def publish(self, recorded: list[Recorded]) -> None:
        # One at a time, so a job's events enter the stream in version order.
        for r in recorded:
            await self.js.publish(
                subjects.subject_of(r.event),
                wire.encode(r.event),
                headers=wire.headers_for(r.event, r.notification_id),
            )
