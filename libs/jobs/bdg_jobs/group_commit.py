"""Group commit of appends: those that arrive while one is being committed go together in the
next transaction.

Every append takes the event table's lock (notification ids in commit order; see recorder.py),
so 200 jobs created at once were 200 transactions in single file, each waiting for the lock and
a commit; most of a request's time was that queue (bench/job_create.py), and a service deciding
for many jobs at once queued the same way. Here the first append is committed alone, with no
added wait, and whatever queued meanwhile goes in one transaction: one lock, one insert, one
commit for many jobs. A batch that fails for one append's sake (a taken version: another writer
decided first; a value PostgreSQL refuses) is appended again one append at a time, so only that
append hears of it; a lost database fails them all (the library already asked again).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from eventsourcing.persistence import InterfaceError, OperationalError

from bdg_contracts.base import Event
from bdg_jobs.store import JobStore, Recorded

MAX_BATCH = 256  # appends per transaction; bounds one statement's size
# The database is gone or the connection broke: appending alone would fail the same way.
TRANSIENT = (InterfaceError, OperationalError)


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
        """Append one job's events (with those of others queued now); their records."""
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
        except Exception as error:
            if len(batch) == 1 or isinstance(error, TRANSIENT):
                for waiting in batch:
                    _settle(waiting, error=error)
                return
            for waiting in batch:  # only the append that failed the batch hears of it
                await self._commit([waiting])
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
