"""Stop a job's step the moment the job is cancelled, not when the step ends by itself.

A handler may spend minutes in one model call (a small local model writing a long answer).
Without this, cancelling the job only drops the handler's reaction at its end: meanwhile the
local model's single slot keeps generating for nobody and the next job waits behind it. While
the handler runs, the job's ``JobCancelled`` subject is watched (core NATS: a JetStream publish
reaches plain subscribers too); when it arrives the handler's task is cancelled, which closes
its HTTP request, and llama.cpp's server stops a generation whose client has gone.

A cancellation committed before the watch began is not heard: the handler then finds the job
cancelled itself (``job_to_work_on``) or its reaction is dropped (``Delivery.react``). Only a
cancellation newer than the handled event stops it: the relay may publish an event again (the
stream drops the copy by its ``Nats-Msg-Id``, core subscribers still hear it), and a handler of
``JobCancelled`` itself (the auditor's) must not be stopped by its own event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable

from nats.aio.client import Client
from nats.aio.msg import Msg

from bdg_contracts import subjects
from bdg_contracts.base import Event
from bdg_contracts.events import JobCancelled


def cancellation_subject(event: Event) -> str:
    return subjects.event_subject(event.tenant_id, event.job_id, JobCancelled.__name__)


def cancels(event: Event, msg: Msg) -> bool:
    """Whether the heard ``JobCancelled`` came after ``event`` (its id is ``<job>:<version>``;
    without one it is taken as news)."""
    _, _, version = (msg.headers or {}).get("Nats-Msg-Id", "").rpartition(":")
    return not version.isdigit() or int(version) > event.version


async def unless_cancelled(nc: Client | None, event: Event, work: Awaitable[None]) -> bool:
    """Run ``work`` (the handler of ``event``); False when the job was cancelled meanwhile and
    ``work`` was stopped for it. Without a connection, for a repository's event, or for the
    cancellation itself, it runs to its end."""
    if nc is None or type(event).aggregate != "job" or isinstance(event, JobCancelled):
        await work
        return True
    cancelled = asyncio.Event()

    async def heard(msg: Msg) -> None:
        if cancels(event, msg):
            cancelled.set()

    subscription = await nc.subscribe(cancellation_subject(event), cb=heard)
    handler = asyncio.ensure_future(work)
    waiting = asyncio.create_task(cancelled.wait())
    try:
        await asyncio.wait({handler, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if handler.done():
            handler.result()  # its error, if any, is the caller's to retry or dead-letter
            return True
        handler.cancel()
        # Whatever it raises on the way out is moot: the job is cancelled.
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await handler
        return False
    finally:
        waiting.cancel()
        if not handler.done():  # we are being cancelled ourselves (the step's time limit)
            handler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await handler
        with contextlib.suppress(Exception):  # a connection closing under us: nothing to undo
            await subscription.unsubscribe()
