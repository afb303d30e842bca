"""What a follower of the notification log relies on, under concurrent appends on real
PostgreSQL: reading from its last position (as the relay and the projections do), it sees every
committed event exactly once, and each job's events in version order.

The appends come from writer threads (one transaction each) and from a JobApplication's group
commits at once, while the follower reads all the time. Without the order the recorder keeps
(notification ids in commit order), a follower that read id n+1 before id n committed would
pass over n for ever: this test then fails (it did, with the table lock taken out).
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections import defaultdict
from uuid import UUID, uuid4

import pytest

from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Job
from bdg_jobs.store import JobStore, Recorded
from tests.unit.jobs import CAUSE

pytestmark = pytest.mark.timeout(120)
THREADS, JOBS_PER_THREAD, GROUPED_JOBS, DECISIONS = 6, 15, 40, 4


def decide(job: Job, n: int) -> None:
    job.record_llm_call(
        CAUSE, role=f"r{n}", model="m", request_hash=f"h{n}", response="",
        prompt_tokens=1, completion_tokens=1, cost_usd=0.01,
    )  # fmt: skip


def write_alone(store: JobStore, committed: list[Recorded]) -> None:
    """New jobs and decisions on them, each append its own transaction."""
    for _ in range(JOBS_PER_THREAD):
        job = Job.request(uuid4(), "acme", CAUSE, goal="order")
        committed += store.save(job)
        for n in range(DECISIONS):
            decide(job, n)
            committed += store.save(job)


async def write_grouped(app: JobApplication, committed: list[Recorded]) -> None:
    """Many jobs at once through the application: their appends go in group commits."""
    jobs = [Job.request(uuid4(), "acme", CAUSE, goal="grouped") for _ in range(GROUPED_JOBS)]
    for records in await asyncio.gather(*(app.start(job) for job in jobs)):
        committed += records
    for n in range(DECISIONS):
        decisions = (app.execute(job.job_id, functools.partial(decide, n=n)) for job in jobs)
        for records in await asyncio.gather(*decisions):
            committed += records


class Follower(threading.Thread):
    """Reads the log from its last position, as the relay does, until told to stop and caught up."""

    def __init__(self, store: JobStore, start: int) -> None:
        super().__init__(daemon=True)
        self.store, self.position = store, start
        self.seen: list[Recorded] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while True:
                stopping = self.stop.is_set()  # before reading: a last read after the writers
                batch = self.store.notifications(self.position, 50)
                self.seen += batch
                if batch:
                    self.position = batch[-1].notification_id
                elif stopping:
                    return
        except BaseException as error:  # reported by the test
            self.error = error


async def test_a_follower_sees_every_committed_event_once_and_each_job_in_order(
    database_url: str,
) -> None:
    store = JobStore.from_url(database_url, pool_size=THREADS + 2)
    reader = JobStore.from_url(database_url)
    follower = Follower(reader, reader.max_notification_id())
    follower.start()
    committed: list[Recorded] = []
    try:
        writers = [asyncio.to_thread(write_alone, store, committed) for _ in range(THREADS)]
        await asyncio.gather(*writers, write_grouped(JobApplication(store), committed))
        follower.stop.set()
        await asyncio.to_thread(follower.join, 60)
        assert follower.error is None
        assert not follower.is_alive()

        ids = [r.notification_id for r in follower.seen]
        assert ids == sorted(set(ids))  # never backwards, never twice
        assert set(ids) == {r.notification_id for r in committed}  # none passed over
        versions: dict[UUID, list[int]] = defaultdict(list)
        for r in follower.seen:
            versions[r.event.job_id].append(r.event.version)
        expected = THREADS * JOBS_PER_THREAD + GROUPED_JOBS
        assert len(versions) == expected
        assert all(v == list(range(1, DECISIONS + 2)) for v in versions.values())
    finally:
        follower.stop.set()
        store.close()
        reader.close()
