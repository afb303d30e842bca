"""Group commit: operations that arrive while one batch runs wait for the next batch, and each
batch is one call of ``run`` (one transaction). An idle queue runs an operation at once.

A failed batch is run again one operation at a time, so one bad operation (or a deadlock)
fails only its own caller. An outcome whose caller was cancelled meanwhile goes to ``orphan``,
which may queue an operation that undoes it (a reservation nobody will settle).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

Op = TypeVar("Op")
MAX_BATCH = 256  # operations decided in one transaction at most


class GroupCommit(Generic[Op]):
    def __init__(
        self,
        run: Callable[[list[Op]], Awaitable[list[Any]]],
        orphan: Callable[[Any], Op | None] = lambda outcome: None,
    ) -> None:
        self.run, self.orphan = run, orphan
        self._queue: list[tuple[Op, asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, op: Op) -> Any:
        """The outcome of ``op``; an outcome that is an exception is raised. (Two batches at
        once measured no faster for the ledger: the second waits on the hot row for the
        first's commit.)"""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((op, future))
        # done(), not a done callback: a flusher past its last look at the queue is done by now
        # (no await in between), where its callback would not have run yet.
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                outcomes = await self.run([op for op, _ in batch])
            except Exception as error:
                if len(batch) == 1:
                    _fail(batch[0][1], error)
                else:
                    await self._one_by_one(batch)
                continue
            self._deliver(batch, outcomes)

    async def _one_by_one(self, batch: list[tuple[Op, asyncio.Future[Any]]]) -> None:
        for op, future in batch:
            try:
                outcomes = await self.run([op])
            except Exception as error:
                _fail(future, error)
                continue
            self._deliver([(op, future)], outcomes)

    def _deliver(self, batch: list[tuple[Op, asyncio.Future[Any]]], outcomes: list[Any]) -> None:
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.cancelled():
                undo = self.orphan(outcome)
                if undo is not None:  # nobody awaits it: a failure is only logged by asyncio
                    orphan: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
                    orphan.add_done_callback(lambda f: f.exception())
                    self._queue.append((undo, orphan))
            elif isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
