"""Group commit of new jobs: the appends that arrive while one is being committed go together in
the next transaction.

Every append takes the event table's lock (notification ids in commit order; see recorder.py),
so 200 jobs created at once were 200 transactions in single file, each waiting for the lock and
a commit; most of a request's time was that queue (bench/job_create.py). Here the first job is
committed alone, with no added wait, and whatever queued meanwhile goes in one transaction: one
lock, one insert, one commit for many jobs. A batch that meets a taken id (another writer had
that job) is appended again one job at a time, so only that job sees the conflict.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from bdg_contracts.base import Event
from bdg_jobs.errors import ConcurrencyConflictError
from bdg_jobs.store import JobStore, Recorded

MAX_BATCH = 256  # jobs per transaction; bounds one statement's size


@dataclass
class _Waiting:
    events: list[Event]
    done: asyncio.Future[list[Recorded]]


class GroupCommit:
    def __init__(self, store: JobStore, max_batch: int = MAX_BATCH) -> None:
        self.store, self.max_batch = store, max_batch
        self._queue: list[_Waiting] = []
        self._committer: asyncio.Task[None] | None = None

    async def append(self, events: Sequence[Event]) -> list[Recorded]:
        """Append one new job's events (with those of others queued now); their records."""
        waiting = _Waiting(list(events), asyncio.get_running_loop().create_future())
        self._queue.append(waiting)
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_queued())
        return await waiting.done

    async def _commit_queued(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            await self._commit(batch)

    async def _commit(self, batch: list[_Waiting]) -> None:
        try:
            recorded = await asyncio.to_thread(
                self.store.append, [e for waiting in batch for e in waiting.events]
            )
        except ConcurrencyConflictError as conflict:
            if len(batch) == 1:
                _settle(batch[0], error=conflict)
                return
            for waiting in batch:
                await self._commit([waiting])
            return
        except Exception as error:  # the database is gone, ...: every request hears it
            for waiting in batch:
                _settle(waiting, error=error)
            return
        start = 0
        for waiting in batch:
            end = start + len(waiting.events)
            _settle(waiting, recorded[start:end])
            start = end


def _settle(
    waiting: _Waiting, recorded: list[Recorded] | None = None, error: Exception | None = None
) -> None:
    if waiting.done.done():  # its request was cancelled (client gone); the job stays committed
        return
    if error is not None:
        waiting.done.set_exception(error)
    else:
        waiting.done.set_result(recorded or [])
