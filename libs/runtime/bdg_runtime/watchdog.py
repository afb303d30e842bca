"""Notices when JetStream lost its streams or our consumers (a wiped store) and declares them.

Another service may already have declared the streams again, so the check is on this service's
own durable consumers, which are declared again with their original configuration (the
broker's pull loops pick them up by name); the reconciler then re-drives whatever the lost
messages were carrying.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig
from nats.js.errors import NotFoundError

from bdg_contracts import subjects
from bdg_runtime.bus import ensure_streams
from bdg_runtime.settings import Settings
from bdg_telemetry import metrics

log = logging.getLogger(__name__)


async def _missing(js: JetStreamContext, consumers: Sequence[ConsumerConfig]) -> list[str]:
    """What JetStream no longer has: the stream and/or some of our consumers. What the others
    have not delivered yet (or not seen acknowledged) is their queue lag, in the metrics."""
    try:
        await js.stream_info(subjects.events_stream())
    except NotFoundError:
        return [f"stream {subjects.events_stream()}"]
    lost = []
    for config in consumers:
        durable = config.durable_name or ""
        try:
            info = await js.consumer_info(subjects.events_stream(), durable)
        except NotFoundError:
            lost.append(f"consumer {durable}")
            continue
        metrics.CONSUMER_PENDING.labels(metrics.service(), durable).set(info.num_pending or 0)
        metrics.CONSUMER_ACK_PENDING.labels(metrics.service(), durable).set(
            info.num_ack_pending or 0
        )
    return lost


async def watch_streams(
    js: JetStreamContext,
    consumers: Sequence[ConsumerConfig],
    settings: Settings,
    stop: asyncio.Event,
    every: float = 2.0,
) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
        if stop.is_set():
            return
        try:
            missing = await _missing(js, consumers)
        except (NatsError, TimeoutError) as error:
            log.warning("cannot reach JetStream: %s", error)
            continue
        if not missing:
            continue
        log.error("JetStream lost %s; declaring them again", ", ".join(missing))
        try:
            await ensure_streams(js, settings.bdg_duplicate_window_seconds)
            for config in consumers:
                await js.add_consumer(subjects.events_stream(), config)
        except (NatsError, TimeoutError) as error:
            log.warning("declaring again failed, next pass retries: %s", error)
