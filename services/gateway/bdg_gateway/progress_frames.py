"""A job's progress reports on its WebSocket, as ``{"type": "progress", "kind": "install", ...}``
frames: forwarded as they come while the socket is open, never stored nor backfilled (what a
report is and why it is not an event: bdg_contracts/progress.py). A report that does not read
as one, or names another tenant or job, is dropped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from nats.aio.client import Client
from nats.aio.msg import Msg
from pydantic import ValidationError

from bdg_contracts import subjects
from bdg_contracts.progress import InstallProgress

log = logging.getLogger(__name__)
Send = Callable[[dict[str, Any]], Awaitable[None]]
BUFFER = 100  # reports are a few seconds apart; more waiting means a slow client: drop


def frame(report: InstallProgress) -> dict[str, Any]:
    fields = report.model_dump(mode="json", exclude={"tenant_id"})
    return {"type": "progress", "kind": "install", **fields}


async def follow_progress(nc: Client, tenant: str, job_id: UUID, send: Send) -> None:
    """Forward the job's reports until cancelled (the job's stream ends it)."""
    live: asyncio.Queue[Msg] = asyncio.Queue(maxsize=BUFFER)

    async def buffer(msg: Msg) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # the next report says the same, newer
            live.put_nowait(msg)

    sub = await nc.subscribe(subjects.job_progress(tenant, job_id), cb=buffer)
    try:
        while True:
            msg = await live.get()
            try:
                report = InstallProgress.model_validate_json(msg.data)
            except ValidationError as error:
                log.warning("unreadable progress report on %s: %s", msg.subject, error)
                continue
            if (report.tenant_id, report.job_id) == (tenant, job_id):
                await send(frame(report))
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
