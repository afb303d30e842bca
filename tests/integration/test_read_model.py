"""The agent_config projection against a real PostgreSQL.

Each test gets a fresh, migrated database from the suite's ``database_url`` fixture, so
projection positions never collide.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from bdg_contracts.base import Event
from bdg_jobs.agent_config import AgentConfigProjection
from bdg_jobs.domain import Cause, Job
from bdg_jobs.projections import AgentConfigRow, fold, row_of
from bdg_jobs.projector import catch_up, position, project, rebuild
from bdg_jobs.store import JobStore

pytestmark = pytest.mark.timeout(60)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[JobStore]:
    job_store = JobStore.from_url(database_url)
    yield job_store
    job_store.close()


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


class Clock:
    def __init__(self) -> None:
        self.ticks = 0

    def cause(self) -> Cause:
        self.ticks += 1
        return Cause(producer="test", occurred_at=T0 + timedelta(seconds=self.ticks), user_id="ada")


def llm(job: Job, clock: Clock, cost: float) -> None:
    job.record_llm_call(
        clock.cause(),
        role="coder",
        model="m",
        request_hash=uuid4().hex,
        response="ok",
        prompt_tokens=1,
        completion_tokens=1,
        cost_usd=cost,
    )


def table(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute(
        'SELECT "jobId", state, "planMarkdown", "costUSD", tenant, "user", goal, '
        '"createdAt", "updatedAt", version FROM agent_config ORDER BY "jobId"'
    ).fetchall()


def as_tuple(row: AgentConfigRow) -> tuple[Any, ...]:
    return (
        row.job_id,
        row.state,
        row.plan_markdown,
        row.cost_usd,
        row.tenant,
        row.user,
        row.goal,
        row.created_at,
        row.updated_at,
        row.version,
    )


def expected_at(store: JobStore, upto: int) -> list[tuple[Any, ...]]:
    """The table a correct projection has after every notification up to ``upto``."""
    by_job: dict[UUID, list[Event]] = {}
    for recorded in store.notifications(0, 1_000_000):
        if recorded.notification_id <= upto:
            by_job.setdefault(recorded.event.job_id, []).append(recorded.event)
    jobs = [fold(None, events) for events in by_job.values()]
    return sorted(as_tuple(row_of(job)) for job in jobs if job is not None)


def start_job(store: JobStore, clock: Clock, tenant: str = "acme") -> Job:
    job = Job.request(uuid4(), tenant, clock.cause(), goal="add a health check")
    store.save(job)
    return job


def drive_to_testing(store: JobStore, job: Job, clock: Clock) -> None:
    """Several states, one save each, with LLM costs exact in binary (REAL column)."""
    job.draft_plan(clock.cause(), "# draft", iteration=1)
    llm(job, clock, 0.25)
    store.save(job)
    job.make_plan_ready(clock.cause(), "# plan")
    store.save(job)
    job.approve_plan(clock.cause(), approved_by="ada")
    store.save(job)
    llm(job, clock, 0.125)
    job.change_files(clock.cause(), patch="--- a\n+++ b\n", paths=("app.py",))
    store.save(job)
    job.pause(clock.cause(), reason="lunch")
    store.save(job)
    job.resume(clock.cause())
    job.finish_coding(clock.cause(), summary="done")
    llm(job, clock, 1.5)
    store.save(job)


def test_catch_up_builds_the_row(store: JobStore, conn: psycopg.Connection[Any]) -> None:
    clock = Clock()
    job = start_job(store, clock)
    drive_to_testing(store, job, clock)

    assert catch_up(store, conn) == job.version
    assert table(conn) == [
        (
            str(job.job_id),
            "testing",
            "# plan",
            1.875,
            "acme",
            "ada",
            "add a health check",
            T0 + timedelta(seconds=1),
            T0 + timedelta(seconds=clock.ticks),
            job.version,
        )
    ]
    assert position(conn, "agent_config") == store.max_notification_id()


def test_catch_up_again_changes_nothing(store: JobStore, conn: psycopg.Connection[Any]) -> None:
    clock = Clock()
    drive_to_testing(store, start_job(store, clock), clock)
    catch_up(store, conn)
    before, at = table(conn), position(conn, "agent_config")

    assert catch_up(store, conn) == 0
    # Re-applying notifications at or below the stored position is a no-op too.
    step = project(AgentConfigProjection(), conn, store.notifications(0, 1000), store)
    assert (step.position, step.applied) == (at, 0)
    assert table(conn) == before
    assert position(conn, "agent_config") == at


def test_resumes_across_batches_and_restarts(
    store: JobStore, conn: psycopg.Connection[Any]
) -> None:
    """A fresh projector per save reloads each job's history: the pause stack survives."""
    clock = Clock()
    job = start_job(store, clock)
    catch_up(store, conn, projection=AgentConfigProjection())
    job.draft_plan(clock.cause(), "# draft", iteration=1)
    job.make_plan_ready(clock.cause(), "# plan")
    job.pause(clock.cause())
    store.save(job)
    catch_up(store, conn, batch=2, projection=AgentConfigProjection())
    assert table(conn)[0][1] == "paused"
    job.resume(clock.cause())
    store.save(job)
    catch_up(store, conn, projection=AgentConfigProjection())
    assert table(conn)[0][1] == "awaiting_plan_approval"
    assert table(conn) == expected_at(store, store.max_notification_id())


def test_rebuild_equals_incremental(store: JobStore, conn: psycopg.Connection[Any]) -> None:
    clock = Clock()
    projection = AgentConfigProjection(cache_size=2)  # small: some jobs reload their history
    jobs = [start_job(store, clock, tenant=f"t{i}") for i in range(4)]
    for job in jobs:
        drive_to_testing(store, job, clock)
        catch_up(store, conn, batch=3, projection=projection)
    incremental = table(conn)
    assert len(incremental) == 4

    seen: list[tuple[int, int]] = []
    applied = rebuild(store, conn, batch=7, progress=lambda done, total: seen.append((done, total)))

    assert applied == store.max_notification_id()
    assert table(conn) == incremental == expected_at(store, store.max_notification_id())
    assert seen[0] == (0, applied)
    assert seen[-1] == (applied, applied)


class Crash(BaseException):
    """The process dying mid-batch (an Exception would be taken for a poisoned event)."""


class FailingProjection(AgentConfigProjection):
    """Raises on its n-th event, in the middle of a batch, once."""

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.fail_at, self.seen = fail_at, 0

    def evolve(self, job: Job | None, event: Event) -> Job:
        self.seen += 1
        if self.seen == self.fail_at:
            raise Crash("crash while folding")
        return super().evolve(job, event)


class FailingAfterWrite(AgentConfigProjection):
    """Writes a batch's rows, then raises before the position is saved, once."""

    def __init__(self, fail_on_batch: int) -> None:
        super().__init__()
        self.fail_on_batch, self.batches = fail_on_batch, 0

    def apply(self, conn: psycopg.Connection[Any], batch: Any, source: Any) -> None:
        super().apply(conn, batch, source)
        self.batches += 1
        if self.batches == self.fail_on_batch:
            raise Crash("crash after writing rows")


@pytest.mark.parametrize(
    "projection",
    [FailingProjection(fail_at=9), FailingAfterWrite(fail_on_batch=2)],
    ids=["while-folding", "after-writing"],
)
def test_a_crash_mid_batch_applies_each_event_once(
    store: JobStore, conn: psycopg.Connection[Any], projection: AgentConfigProjection
) -> None:
    clock = Clock()
    jobs = [start_job(store, clock) for _ in range(3)]
    for job in jobs:
        drive_to_testing(store, job, clock)

    with pytest.raises(Crash, match="crash"):
        catch_up(store, conn, batch=5, projection=projection)

    at = position(conn, "agent_config")
    assert 0 < at < store.max_notification_id()
    assert table(conn) == expected_at(store, at)

    assert catch_up(store, conn, batch=5, projection=projection) == store.max_notification_id() - at
    rows = table(conn)
    assert [r[3] for r in rows] == [1.875] * 3  # every LlmCalled summed exactly once
    assert rows == expected_at(store, store.max_notification_id())
