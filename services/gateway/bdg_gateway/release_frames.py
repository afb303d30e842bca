"""A job's releases on its WebSocket: the release events of the releases the job made, as
``{"type": "release", "event": <name>, "site_id", "release", ...}`` frames.

A job's site is known from the job alone (``job_site_id``), so the seam is the job stream's:
subscribe to the site's subject first, then backfill from its history, then send live events,
each site version once. Which releases are the job's is read from the site (a release's build
names the job); a release not yet known makes the site be read again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from nats.aio.client import Client
from nats.aio.msg import Msg

from bdg_contracts import release_events as rv
from bdg_contracts import subjects, wire
from bdg_contracts.base import Event
from bdg_jobs.sites import Site
from bdg_jobs.store import JobStore
from bdg_runtime.nats_flush import flush

log = logging.getLogger(__name__)
FRAMED: tuple[type[rv.SiteEvent], ...] = (
    rv.ReleaseCreated,
    rv.CanaryStarted,
    rv.CanaryAdvanced,
    rv.ReleasePromoted,
    rv.ReleaseRolledBack,
    rv.DeployFailed,
)
ENVELOPE = frozenset(Event.model_fields) - {"occurred_at"}
RESYNC_SECONDS = 15.0

Send = Callable[[dict[str, Any]], Awaitable[None]]


def frame(event: rv.SiteEvent) -> dict[str, Any]:
    """The event's own fields (the figures, the reason), not its envelope."""
    fields = event.model_dump(mode="json", exclude=set(ENVELOPE))
    return {
        "type": "release",
        "event": event.name,
        "site_id": str(event.job_id),
        "site_version": event.version,
        **fields,
    }


class ReleaseFrames:
    def __init__(self, store: JobStore, nc: Client, tenant: str, job_id: UUID, repo: str) -> None:
        self.store, self.nc, self.tenant, self.job_id = store, nc, tenant, job_id
        self.site_id = rv.job_site_id(tenant, repo, job_id)
        self.live: asyncio.Queue[Msg] = asyncio.Queue(maxsize=1000)
        self.sent = 0  # the site's last version handled
        self.ours: set[str] = set()

    async def follow(self, send: Send) -> None:
        """Backfill then live, until cancelled (the job's stream ends it)."""
        subject = subjects.job_events(self.tenant, self.site_id)
        sub = await self.nc.subscribe(subject, cb=self._buffer)
        try:
            await flush(self.nc)
            await self._resync(send)
            while True:
                try:
                    # Not wait_for: on 3.11 it drops a cancel that comes with a message.
                    async with asyncio.timeout(RESYNC_SECONDS):
                        msg = await self.live.get()
                except TimeoutError:
                    await self._resync(send)
                    continue
                event = _decode(msg)
                if event is None or event.version <= self.sent:
                    continue
                if event.version > self.sent + 1:  # a gap: the store has the missing ones
                    await self._resync(send)
                    continue
                await self._handle([event], send)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _buffer(self, msg: Msg) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # dropped: the next resync reads it
            self.live.put_nowait(msg)

    async def _resync(self, send: Send) -> None:
        history = await asyncio.to_thread(self.store.history, self.site_id, self.sent)
        if self.sent == 0 and (not history or history[0].tenant_id != self.tenant):
            return  # no site yet (or, never, another tenant's)
        await self._handle(history, send)

    async def _handle(self, events: list[Event], send: Send) -> None:
        for event in events:
            if event.version != self.sent + 1:
                continue
            self.sent = event.version
            if not isinstance(event, FRAMED):
                continue
            release = getattr(event, "release", None)
            if release is not None and release not in self.ours:
                await self._reread()
            if release in self.ours:
                await send(frame(event))

    async def _reread(self) -> None:
        history = await asyncio.to_thread(self.store.history, self.site_id, 0, self.sent)
        if history:
            self.ours = set(Site.replay(history).releases_of_job(self.job_id))


def _decode(msg: Msg) -> Event | None:
    try:
        return wire.decode(msg.headers or {}, msg.data)
    except Exception:
        log.warning("undecodable message on %s", msg.subject, exc_info=True)
        return None
