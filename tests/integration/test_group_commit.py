"""New jobs created together are committed together, on real PostgreSQL; a taken id in a batch
fails only its own job."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from uuid import uuid4

import pytest

from bdg_contracts.base import Event
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Job
from bdg_jobs.errors import ConcurrencyConflictError
from bdg_jobs.store import JobStore, Recorded
from tests.unit.jobs import CAUSE

pytestmark = pytest.mark.timeout(60)
JOBS = 40


class CountingStore(JobStore):
    """A real store that counts its transactions (one per append)."""

    def __init__(self, url: str) -> None:
        super().__init__(JobStore.from_url(url).datastore)
        self.appends = 0
        self.lock = threading.Lock()

    def append(self, events: Sequence[Event]) -> list[Recorded]:
        with self.lock:
            self.appends += 1
        return super().append(events)


def new_job(goal: str = "batch") -> Job:
    return Job.request(uuid4(), "acme", CAUSE, goal=goal)


async def test_jobs_started_together_share_transactions(database_url: str) -> None:
    store = CountingStore(database_url)
    try:
        app = JobApplication(store)
        jobs = [new_job(f"goal {i}") for i in range(JOBS)]
        recorded = await asyncio.gather(*(app.start(job) for job in jobs))
        assert store.appends < JOBS / 4  # the first alone, then the rest in few batches
        for job, records in zip(jobs, recorded, strict=True):
            assert [r.event.job_id for r in records] == [job.job_id]  # its own records
            assert store.load(job.job_id).goal == job.goal
        ids = [r.notification_id for records in recorded for r in records]
        assert len(set(ids)) == JOBS
    finally:
        store.close()


async def test_a_taken_id_fails_only_its_own_job(database_url: str) -> None:
    store = JobStore.from_url(database_url)
    try:
        app = JobApplication(store)
        taken = new_job("first")
        await app.start(taken)
        again = Job.request(taken.job_id, "acme", CAUSE, goal="second")
        others = [new_job(f"other {i}") for i in range(10)]
        results = await asyncio.gather(
            *(app.start(job) for job in [others[0], again, *others[1:]]), return_exceptions=True
        )
        assert isinstance(results[1], ConcurrencyConflictError)
        assert not any(isinstance(r, BaseException) for i, r in enumerate(results) if i != 1)
        assert store.load(taken.job_id).goal == "first"
        assert all(store.load(job.job_id).goal == job.goal for job in others)
    finally:
        store.close()
