"""Notices when JetStream lost its streams (a wiped store) and declares them again.

The broker is restarted so its durable consumers are declared again too; the reconciler then
re-drives whatever the lost messages were carrying.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from faststream.nats import NatsBroker
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from bdg_contracts import subjects
from bdg_runtime.bus import ensure_streams
from bdg_runtime.settings import Settings

log = logging.getLogger(__name__)


async def watch_streams(
    js: JetStreamContext,
    broker: NatsBroker,
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
            await js.stream_info(subjects.events_stream())
        except NotFoundError:
            log.error(
                "stream %s is gone; declaring it and the consumers again", subjects.events_stream()
            )
            await ensure_streams(js, settings.bdg_duplicate_window_seconds)
            await broker.stop()
            await broker.start()
        except (NatsError, TimeoutError) as error:
            log.warning("cannot reach JetStream: %s", error)
