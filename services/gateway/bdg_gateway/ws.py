"""``/jobs/{id}/stream``: a job's events over a WebSocket, backfill then live, each version once.

The seam: subscribe to the job's NATS subject first (buffering), then backfill from PostgreSQL,
then send buffered and live events, skipping versions already sent. A live event that skips
ahead is preceded by the missing versions read from the store; an idle stream re-reads the store
now and then, so an event whose publish was lost (the relay publishes it later) still arrives.
The release events of the job's releases come on the same socket as ``{"type": "release"}``
frames (``release_frames.py``), and the job's progress reports (an install's elapsed time and
output lines) as ``{"type": "progress"}`` frames (``progress_frames.py``), while it is open.
Close codes: 1000 the job ended (done, failed or cancelled; the reason is the state), sent after
its last event; 4400 bad request, 4401 not authenticated, 4404 no such job (for this tenant).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from nats.aio.msg import Msg

from bdg_contracts import subjects, wire
from bdg_contracts.base import Event
from bdg_contracts.numbers import MAX_INT4
from bdg_contracts.states import ENDED_STATES
from bdg_gateway.auth import AuthError, bearer_token
from bdg_gateway.deps import Gateway, gateway_of
from bdg_gateway.progress_frames import follow_progress
from bdg_gateway.release_frames import ReleaseFrames
from bdg_gateway.views import StreamedEvent
from bdg_jobs.domain import Job
from bdg_jobs.errors import JobNotFoundError
from bdg_jobs.user_commands import Caller
from bdg_runtime.nats_flush import flush

log = logging.getLogger(__name__)
router = APIRouter()

BAD_REQUEST, UNAUTHORIZED, NOT_FOUND = 4400, 4401, 4404
JOB_ENDED = 1000  # a normal closure: the stream did what it was for
BUFFER = 1000
IDLE_RESYNC_SECONDS = 15.0


@router.websocket("/jobs/{job_id}/stream")
async def stream(websocket: WebSocket, job_id: str) -> None:
    # Accept first: a close before the handshake is an HTTP 403 with no code the client sees.
    await websocket.accept()
    gateway = gateway_of(websocket.app)
    query = websocket.query_params
    token = query.get("token") or bearer_token(websocket.headers.get("authorization"))
    try:
        caller = gateway.auth.authenticate(token)
    except AuthError as error:
        await _close(websocket, UNAUTHORIZED, error.detail)
        return
    try:
        job = UUID(job_id)
    except ValueError:
        await _close(websocket, NOT_FOUND, f"no job {job_id}")
        return
    try:
        from_version = int(query.get("from_version", "0"))
    except ValueError:
        from_version = -1
    if not 0 <= from_version <= MAX_INT4:
        await _close(
            websocket, BAD_REQUEST, f"from_version must be an integer from 0 to {MAX_INT4}"
        )
        return
    await JobStream(gateway, caller, job, websocket).run(from_version)


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await websocket.close(code=code, reason=reason.encode()[:120].decode(errors="ignore"))


class JobStream:
    def __init__(self, gateway: Gateway, caller: Caller, job_id: UUID, ws: WebSocket) -> None:
        self.gateway, self.caller, self.job_id, self.ws = gateway, caller, job_id, ws
        self.live: asyncio.Queue[Msg] = asyncio.Queue(maxsize=BUFFER)
        self.overflowed = False
        self.sent = 0
        self.job = Job.blank(job_id, caller.tenant_id)  # as of the newest event seen: over?
        self.shown = Job.blank(job_id, caller.tenant_id)  # as of the last event sent: its cost
        self.sending = asyncio.Lock()  # job events and release frames share the socket

    async def run(self, from_version: int) -> None:
        subject = subjects.job_events(self.caller.tenant_id, self.job_id)
        sub = await self.gateway.nc.subscribe(subject, cb=self._buffer)
        try:
            await flush(self.gateway.nc)  # the server knows the subscription before we read
            try:
                # The whole history, to know the job's state; only what follows is sent.
                history = await self.gateway.commands.events(self.caller, self.job_id)
            except JobNotFoundError as error:
                await _close(self.ws, NOT_FOUND, str(error))
                return
            self.job = Job.replay(history)
            self.sent = from_version
            for event in history[:from_version]:
                self.shown.apply(event)
            await self._send(history)
            if not self._ended():
                await self._until_disconnected()
            if self._ended():
                await _close(self.ws, JOB_ENDED, f"job {self.job.state.value}")
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _buffer(self, msg: Msg) -> None:
        try:
            self.live.put_nowait(msg)
        except asyncio.QueueFull:
            # Dropping is safe: the pump re-reads the store before going on.
            self.overflowed = True

    async def _until_disconnected(self) -> None:
        store, nc = self.gateway.commands.app.store, self.gateway.nc
        frames = ReleaseFrames(store, nc, self.caller.tenant_id, self.job_id, self.job.repo)
        releases = asyncio.create_task(frames.follow(self._send_frame))
        progress = asyncio.create_task(
            follow_progress(nc, self.caller.tenant_id, self.job_id, self._send_frame)
        )
        pump = asyncio.create_task(self._pump())
        closed = asyncio.create_task(self._receive_until_closed())
        done, pending = await asyncio.wait({pump, closed}, return_when=asyncio.FIRST_COMPLETED)
        releases.cancel()
        progress.cancel()
        for task in pending:
            task.cancel()
        await asyncio.gather(releases, progress, *pending, return_exceptions=True)
        error = pump.exception() if pump in done else None
        if error is not None and not isinstance(error, WebSocketDisconnect | OSError):
            log.error("stream of job %s failed", self.job_id, exc_info=error)
            await _close(self.ws, 1011, "stream failed")

    async def _receive_until_closed(self) -> None:
        # The client has nothing to say; anything it sends is read and ignored.
        message = await self.ws.receive()
        while message["type"] != "websocket.disconnect":
            message = await self.ws.receive()

    def _ended(self) -> bool:
        """The job is over and the client has every event up to its end."""
        return self.job.state in ENDED_STATES and self.sent >= self.job.version

    async def _pump(self) -> None:
        while not self._ended():
            msg: Msg | None = None
            # Not wait_for: on 3.11 it drops a cancel that comes with a message (nats_flush.py).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(IDLE_RESYNC_SECONDS):
                    msg = await self.live.get()
            if msg is None or self.overflowed:
                self.overflowed = False
                await self._resync()
            event = _decode(msg) if msg is not None else None
            if event is None or event.job_id != self.job_id or event.version <= self.sent:
                continue  # already sent (backfill, redrive, redelivery) or not ours
            if event.version > self.sent + 1:
                await self._resync()  # a gap: the missing versions are in the store
            await self._send([event])

    async def _resync(self) -> None:
        await self._send(await self.gateway.commands.app.history(self.job_id, self.sent))

    async def _send(self, events: Iterable[Event]) -> None:
        for event in events:
            if event.version == self.job.version + 1:
                self.job.apply(event)
            if event.version != self.sent + 1:
                continue
            self.shown.apply(event)
            frame = StreamedEvent.after(event, self.shown.cost_usd)
            async with self.sending:
                await self.ws.send_text(frame.model_dump_json())
            self.sent = event.version
            if self._ended():
                return

    async def _send_frame(self, frame: dict[str, Any]) -> None:
        async with self.sending:
            await self.ws.send_text(json.dumps(frame))


def _decode(msg: Msg) -> Event | None:
    try:
        return wire.decode(msg.headers or {}, msg.data)
    except Exception:
        log.warning("undecodable message on %s", msg.subject, exc_info=True)
        return None
