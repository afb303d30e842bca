"""Appends made together (new jobs, decisions on running jobs) are committed together, on real
PostgreSQL; a taken id or version, or a value PostgreSQL refuses, fails only its own append."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from uuid import uuid4

import pytest
from eventsourcing.persistence import DataError

from bdg_contracts.base import Event
from bdg_contracts.states import JobState
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


def draft(plan: str) -> Callable[[Job], None]:
    def decide(job: Job) -> None:
        job.make_plan_ready(CAUSE, plan)

    return decide


async def test_decisions_on_many_jobs_made_together_share_transactions(database_url: str) -> None:
    store = CountingStore(database_url)
    try:
        app = JobApplication(store)
        jobs = [new_job(f"goal {i}") for i in range(JOBS)]
        await asyncio.gather(*(app.start(job) for job in jobs))
        loaded = [store.load(job.job_id) for job in jobs]  # so that they all append at once
        store.appends = 0

        recorded = await asyncio.gather(
            *(app.execute(j.job_id, draft(f"plan {i}"), loaded=j) for i, j in enumerate(loaded))
        )

        assert store.appends < JOBS / 4
        for i, (job, records) in enumerate(zip(jobs, recorded, strict=True)):
            assert [(r.event.job_id, r.event.version) for r in records] == [(job.job_id, 2)]
            again = store.load(job.job_id)
            assert (again.state, again.plan_markdown) == (
                JobState.awaiting_plan_approval,
                f"plan {i}",
            )
    finally:
        store.close()


async def test_two_deciders_on_one_job_in_a_batch_both_land_in_order(database_url: str) -> None:
    """Both load version 1 and append version 2 in the same burst as others: the batch meets the
    taken version, is appended again one at a time, and the loser decides again on version 2."""
    store = CountingStore(database_url)
    try:
        app = JobApplication(store)
        raced, *others = [new_job(f"goal {i}") for i in range(JOBS)]
        await asyncio.gather(*(app.start(job) for job in [raced, *others]))
        loaded = store.load(raced.job_id)
        twin = store.load(raced.job_id)

        def call(role: str) -> Callable[[Job], None]:
            def decide(job: Job) -> None:
                job.record_llm_call(
                    CAUSE, role=role, model="m", request_hash=role, response="",
                    prompt_tokens=1, completion_tokens=1, cost_usd=0.5,
                )  # fmt: skip

            return decide

        await asyncio.gather(
            *(app.execute(job.job_id, draft("plan")) for job in others[: JOBS // 2]),
            app.execute(raced.job_id, call("a"), loaded=loaded),
            app.execute(raced.job_id, call("b"), loaded=twin),
            *(app.execute(job.job_id, draft("plan")) for job in others[JOBS // 2 :]),
        )

        assert [e.version for e in store.history(raced.job_id)] == [1, 2, 3]
        assert store.load(raced.job_id).cost_usd == pytest.approx(1.0)
        assert all(store.load(job.job_id).version == 2 for job in others)
    finally:
        store.close()


async def test_a_value_postgresql_refuses_fails_only_its_own_append(database_url: str) -> None:
    """A NUL in a text column (the tenant a person's key is filed under) is refused by
    PostgreSQL: only the job carrying it fails, the others in its batch commit."""
    store = JobStore.from_url(database_url)
    try:
        app = JobApplication(store)
        bad = Job.request(uuid4(), "acme\x00", replace(CAUSE, user_id="erin"), goal="x")
        good = [new_job(f"goal {i}") for i in range(10)]
        results = await asyncio.gather(
            *(app.start(job) for job in [*good[:5], bad, *good[5:]]), return_exceptions=True
        )

        assert isinstance(results[5], DataError)
        assert [isinstance(r, BaseException) for r in results].count(True) == 1
        assert all(store.load(job.job_id).goal == job.goal for job in good)
        assert store.history(bad.job_id) == []
        assert store.personal is not None
        assert store.personal.vault.owners_of([bad.job_id])[bad.job_id].key is None
    finally:
        store.close()
