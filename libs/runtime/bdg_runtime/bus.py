"""Connections to NATS (one reconnect policy), JetStream streams, the publisher of events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError, ServerError, ServiceUnavailableError

from bdg_contracts import subjects, wire
from bdg_jobs.store import Recorded

if TYPE_CHECKING:
    from faststream.nats import NatsBroker

log = logging.getLogger(__name__)


async def _log_error(error: Exception) -> None:
    # While NATS is down every reconnect attempt fails; the client's default logs a traceback
    # for each (every service, twice a second). A refused connection is expected then: one line.
    if isinstance(error, OSError):
        log.warning("NATS unreachable, reconnecting: %s", error)
    else:
        log.error("NATS client error: %r", error)


# Every connection (ours and the broker's) reconnects forever and soon: the client library's
# default gives up after 60 attempts 2 s apart, after which a process would look alive and
# consume nothing.
RECONNECT: dict[str, Any] = {
    "max_reconnect_attempts": -1,
    "reconnect_time_wait": 0.5,
    "connect_timeout": 2,
    "error_cb": _log_error,
}
# JetStream's answers when it could not make a stream's file store: 10049 ("error creating
# store for stream": met once in CI on a NATS shared by parallel tests; a file in the way of
# the store's folders gives it too) and 10077 (other servers' "storage failed").
STORE_ERRORS = frozenset({10049, 10077})


class StoreNotCreatedError(ConnectionError):
    """JetStream could not create a stream's store this time; asking again may succeed."""


# What start-up declarations meet while NATS restarts: an answer lost with the old server,
# nobody listening yet, JetStream not ready yet, (store wiped) a stream gone until a watchdog
# declares it again, or a store it could not create yet. The client reconnects by itself;
# asking again helps.
RESTARTING = (
    TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.NoServersError,
    ServiceUnavailableError,
    NotFoundError,
    StoreNotCreatedError,
)


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
    """Create or update both streams; safe to call from every service at start.

    Update first and create when missing: a check before acting could see a stream that a
    restart with a wiped store took away the moment after."""
    for config in (events_stream_config(duplicate_window), dlq_stream_config()):
        try:
            try:
                await js.update_stream(config)
            except NotFoundError:
                await js.add_stream(config)
        except ServerError as error:
            if error.err_code not in STORE_ERRORS:
                raise
            said = f"{error.description} ({error.err_code})"
            raise StoreNotCreatedError(f"stream {config.name}: {said}") from error


class BusUnreachableError(ConnectionError):
    """NATS did not answer at start."""


async def connect(url: str, name: str, first_attempt_seconds: float = 10.0) -> Client:
    """Reconnect forever once connected (NATS restarts, failovers), but fail clearly when the
    server cannot be reached at start, instead of hanging."""
    try:
        async with asyncio.timeout(first_attempt_seconds):
            return await nats.connect(url, name=name, **RECONNECT)
    except (TimeoutError, OSError, nats.errors.NoServersError) as error:
        reason = str(error) or "timed out"
        raise BusUnreachableError(f"cannot reach NATS at {url}: {reason}") from error


def broker(url: str, graceful_timeout: float) -> NatsBroker:
    """FastStream's connection, with the same reconnect policy as ours."""
    # Imported here: FastStream costs ~0.3 s to import, and the CLI uses this module without it.
    from faststream.nats import NatsBroker

    # FastStream logs every message at its log_level: per-message lines at DEBUG, not INFO.
    # Its own logger would get a handler writing ANSI colours; ours goes to the root handler.
    return NatsBroker(
        url,
        graceful_timeout=graceful_timeout,
        logger=logging.getLogger("faststream.broker"),
        log_level=logging.DEBUG,
        **RECONNECT,
    )


async def declare(
    what: str, declaring: Callable[[], Awaitable[None]], within: float = 60.0
) -> None:
    """Run a start-up declaration (streams, subscriptions), again if NATS restarts under it.

    Without this, a service starting while NATS restarts dies of one lost answer."""
    reason = ""
    try:
        async with asyncio.timeout(within):
            while True:
                try:
                    await declaring()
                    return
                except RESTARTING as error:
                    reason = str(error) or type(error).__name__
                    log.warning("declaring %s failed (%s); trying again", what, reason)
                    await asyncio.sleep(RECONNECT["reconnect_time_wait"])
    except TimeoutError as error:
        raise BusUnreachableError(f"declaring {what} for {within:.0f}s: {reason}") from error


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
