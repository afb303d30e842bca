"""Use cases over the job aggregate: load, decide, save, then publish what was committed.

A new job a person asked for is answered once it is committed: its publish goes on in the
background (200 creates at once waited for 200 publish acks on one event loop; issue #11).
Committed is what counts, and the outbox relay publishes whatever a lost publish left out. A
later command on the same job in this process waits for that publish first, so its events enter
the stream in order.

The store is synchronous (the eventsourcing library); every call runs in a worker thread so a
service's event loop never blocks on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

from bdg_contracts.base import Event
from bdg_jobs.domain import Job
from bdg_jobs.errors import ConcurrencyConflictError
from bdg_jobs.group_commit import GroupCommit
from bdg_jobs.store import JobStore, Recorded

log = logging.getLogger(__name__)

Decision = Callable[[Job], None]


class Publisher(Protocol):
    async def publish(self, recorded: list[Recorded]) -> None: ...


class NoPublisher:
    """For tools that only write (the relay publishes what they committed)."""

    async def publish(self, recorded: list[Recorded]) -> None:
        return None


def utc_now() -> datetime:
    return datetime.now(UTC)


class JobApplication:
    def __init__(
        self,
        store: JobStore,
        publisher: Publisher | None = None,
        clock: Callable[[], datetime] = utc_now,
        max_conflict_retries: int = 10,
    ) -> None:
        self.store = store
        self.publisher = publisher or NoPublisher()
        self.clock = clock
        self.max_conflict_retries = max_conflict_retries
        self.appends = GroupCommit(store)  # appends made together commit together
        self._publishing: dict[UUID, asyncio.Task[None]] = {}  # new jobs' background publishes

    async def load(self, job_id: UUID, at_version: int | None = None) -> Job:
        return await asyncio.to_thread(self.store.load, job_id, at_version)

    async def history(self, job_id: UUID, after: int = 0) -> list[Event]:
        return await asyncio.to_thread(self.store.history, job_id, after)

    async def start(self, job: Job, *, publish_in_background: bool = False) -> list[Recorded]:
        """Save a new job (``Job.request``); a second start of the same id conflicts. In the
        background, the publish is not waited for (a person waits for the answer). Not for a
        broker that runs the handlers inside the publish (FastStream's in-memory one): their
        commands on the job would wait for the publish they run in."""
        recorded = await self.appends.append(job.collect())
        if publish_in_background:
            self._publish_later(job.job_id, recorded)
        else:
            await self._publish(recorded)
        return recorded

    async def published(self, job_id: UUID) -> None:
        """Once the background publish of a job started here is over (at once if none)."""
        if (pending := self._publishing.get(job_id)) is not None:
            await asyncio.shield(pending)

    def _publish_later(self, job_id: UUID, recorded: list[Recorded]) -> None:
        task = asyncio.create_task(self._publish(recorded))
        self._publishing[job_id] = task  # a reference kept: a task only the loop holds may go
        task.add_done_callback(lambda _: self._forget(job_id, task))

    def _forget(self, job_id: UUID, task: asyncio.Task[None]) -> None:
        if self._publishing.get(job_id) is task:
            del self._publishing[job_id]

    async def start_from(self, events: list[Event]) -> list[Recorded]:
        """Save a new job from a whole history at once (a fork)."""
        recorded = await asyncio.to_thread(self.store.append, events)
        await self._publish(recorded)
        return recorded

    async def execute(
        self, job_id: UUID, decide: Decision, loaded: Job | None = None
    ) -> list[Recorded]:
        """Load the job (or take the one just ``loaded`` by the caller), let ``decide`` append
        events, save; on a version conflict reload and decide again, so concurrent writers all
        land in order. Domain errors propagate unchanged."""
        for attempt in range(self.max_conflict_retries):
            job = loaded if loaded is not None and attempt == 0 else await self.load(job_id)
            decide(job)
            if not job.pending:
                return []
            try:
                recorded = await self.appends.append(job.collect())
            except ConcurrencyConflictError:
                log.info("version conflict on job %s, deciding again", job_id)
                # Jitter, so writers that collided do not collide again in lockstep.
                await asyncio.sleep(random.uniform(0, 0.005 * 2**attempt))
                continue
            await self.published(job_id)  # the job's first events go into the stream first
            await self._publish(recorded)
            return recorded
        raise ConcurrencyConflictError(f"job {job_id}: too many concurrent writers")

    async def _publish(self, recorded: list[Recorded]) -> None:
        # Committed is what counts; a failed publish is healed by the outbox relay.
        try:
            await self.publisher.publish(recorded)
        except Exception:
            log.warning("publish after commit failed; the relay will publish", exc_info=True)
