"""Running execs: the concurrency cap with a bounded queue, and the output cap."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bdg_contracts.sandbox import Output
from bdg_sandboxd.backend import Stream

CHUNK = 64 * 1024  # output frames stay far below the 1 MiB frame limit


class QueueFullError(RuntimeError):
    """Every slot is busy and the queue is at its cap."""


class Slots:
    """At most ``size`` execs at once; up to ``max_queued`` more wait in arrival order."""

    def __init__(self, size: int, max_queued: int) -> None:
        self._free = asyncio.Semaphore(size)
        self._waiting = 0
        self.max_queued = max_queued

    def would_wait(self) -> bool:
        return self._free.locked()

    async def acquire(self, on_queued: Callable[[int], Awaitable[None]]) -> None:
        if self._free.locked():
            if self._waiting >= self.max_queued:
                raise QueueFullError(f"{self._waiting} execs already queued")
            self._waiting += 1
            try:
                await on_queued(self._waiting)
                await self._free.acquire()
            finally:
                self._waiting -= 1
        else:
            await self._free.acquire()

    def release(self) -> None:
        self._free.release()


@dataclass
class OutputCap:
    """Forwards output until ``limit`` bytes, then drops the rest (but keeps reading it)."""

    request_id: str
    limit: int
    send: Callable[[Output], Awaitable[None]]
    sent: int = 0
    truncated: bool = False

    async def __call__(self, stream: Stream, data: bytes) -> None:
        room = self.limit - self.sent
        if len(data) > room:
            self.truncated = True
            data = data[: max(room, 0)]
        for start in range(0, len(data), CHUNK):
            chunk = data[start : start + CHUNK]
            self.sent += len(chunk)
            await self.send(Output(id=self.request_id, stream=stream, data=chunk))
