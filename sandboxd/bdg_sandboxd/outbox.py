"""A connection's frames on their way to the client: one writer task, a bounded queue.

Without a bound, a client that sends requests and never reads makes sandboxd keep every reply
(300,000 ``hello`` frames took it from 108 MB to 1 GB, never given back). Here replies queue up
to ``max_bytes``; one more and the client is taken for gone: the connection is closed, which
kills its execs as any disconnect does. Exec output is treated apart: it waits while the queue
is half full (backpressure: a slow reader slows its execs down instead of losing them), and a
client that takes nothing for ``stall_s`` while frames wait is disconnected as well, so a
chatty exec cannot hold a dead reader's connection open until its own timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

log = logging.getLogger(__name__)
FLUSH_S = 5.0  # at the end of a connection, how long its last replies may take to leave


class ClientNotReadingError(ConnectionError):
    """The client does not read its replies: its connection is closed."""


class Outbox:
    def __init__(self, writer: asyncio.StreamWriter, max_bytes: int, stall_s: float) -> None:
        self.writer, self.max_bytes, self.stall_s = writer, max_bytes, stall_s
        self.queued = 0  # bytes put and not yet taken by the client (nor the kernel)
        self.closed: str | None = None  # why, once closed
        self._frames: deque[bytes] = deque()
        self._ready = asyncio.Event()  # frames wait to be written
        self._progress = asyncio.Event()  # some were taken, or the outbox closed
        self._writing = asyncio.ensure_future(self._write_all())

    def put(self, data: bytes) -> None:
        """Queue ``data``; over the bound, close the connection and raise."""
        if self.closed is not None:
            raise ClientNotReadingError(self.closed)
        if self.queued + len(data) > self.max_bytes:
            self._close(f"its send queue is full ({self.queued} bytes, limit {self.max_bytes})")
            raise ClientNotReadingError(self.closed or "")
        self._frames.append(data)
        self.queued += len(data)
        self._ready.set()

    async def put_when_room(self, data: bytes) -> None:
        """Queue ``data`` once the queue is under half full (exec output)."""
        while self.closed is None and self.queued + len(data) > self.max_bytes // 2:
            self._progress.clear()
            await self._progress.wait()
        self.put(data)

    async def close(self) -> None:
        """Send what is queued (for at most FLUSH_S: sandboxd may be stopping), then close."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._flushed(), FLUSH_S)
        self.closed = self.closed or "the connection ended"
        self._progress.set()
        self._writing.cancel()
        await asyncio.gather(self._writing, return_exceptions=True)
        self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), FLUSH_S)
        except (ConnectionError, TimeoutError):
            self.writer.transport.abort()

    async def _flushed(self) -> None:
        while self.closed is None and self.queued:
            self._progress.clear()
            await self._progress.wait()

    async def _write_all(self) -> None:
        try:
            while True:
                while not self._frames:
                    self._ready.clear()
                    await self._ready.wait()
                data = self._frames.popleft()
                self.writer.write(data)
                try:
                    await asyncio.wait_for(self.writer.drain(), self.stall_s)
                except TimeoutError:
                    self._close(f"it took nothing for {self.stall_s}s")
                    return
                self.queued -= len(data)
                self._progress.set()
        except ConnectionError:  # the client went away: nothing to warn about
            self.closed = self.closed or "the client went away"
            self._progress.set()

    def _close(self, why: str) -> None:
        if self.closed is not None:
            return
        self.closed = why
        self._progress.set()
        log.warning("disconnecting a client: %s", why)
        if not self._writing.done() and asyncio.current_task() is not self._writing:
            self._writing.cancel()
        # abort, not close: nothing queued is worth waiting for, and the reader sees EOF now.
        self.writer.transport.abort()
