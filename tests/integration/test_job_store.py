"""The job store on real PostgreSQL: optimistic concurrency, history, time travel."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from uuid import UUID, uuid4

import pytest

from bdg_contracts import commands as cmd
from bdg_contracts import events as ev
from bdg_contracts.states import JobState
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Job
from bdg_jobs.errors import ConcurrencyConflictError, IllegalTransitionError, JobNotFoundError
from bdg_jobs.store import JobStore
from bdg_jobs.user_commands import Caller, JobCommands
from tests.unit.jobs import CAUSE

pytestmark = pytest.mark.timeout(60)
ALICE = Caller("acme", "alice")


@pytest.fixture
def store(database_url: str) -> JobStore:
    return JobStore.from_url(database_url)


class RacingStore(JobStore):
    """A real store whose first two loads wait for each other: both writers decide on the
    same version, so exactly one of them must hit the version conflict."""

    def __init__(self, url: str) -> None:
        super().__init__(JobStore.from_url(url).datastore)
        self.barrier = threading.Barrier(2)
        self.loads = 0
        self.lock = threading.Lock()

    def load(self, job_id: UUID, at_version: int | None = None) -> Job:
        job = super().load(job_id, at_version)
        with self.lock:
            self.loads += 1
            first_two = self.loads <= 2
        if first_two:
            self.barrier.wait(10)
        return job


async def test_two_writers_one_conflicts_reloads_and_both_land_in_order(database_url: str) -> None:
    store = RacingStore(database_url)
    commands = JobCommands(JobApplication(store))
    job = await commands.create(ALICE, cmd.RequestJob(goal="race"))
    app = JobApplication(store)

    def writer(name: str) -> Callable[[Job], None]:
        def decide(j: Job) -> None:
            j.record_llm_call(
                CAUSE,
                role=name,
                model="m",
                request_hash=name,
                response="",
                prompt_tokens=1,
                completion_tokens=1,
                cost_usd=0.5,
            )

        return decide

    await asyncio.gather(app.execute(job.job_id, writer("a")), app.execute(job.job_id, writer("b")))
    history = store.history(job.job_id)
    assert [e.version for e in history] == [1, 2, 3]
    assert sorted(e.role for e in history[1:] if isinstance(e, ev.LlmCalled)) == ["a", "b"]
    assert store.loads == 3  # the loser loaded once more
    assert store.load(job.job_id).cost_usd == pytest.approx(1.0)


def test_a_taken_version_is_a_conflict_and_writes_nothing(store: JobStore) -> None:
    job = Job.request(uuid4(), "acme", CAUSE, goal="g")
    store.save(job)
    first, second = store.load(job.job_id), store.load(job.job_id)
    first.pause(CAUSE)
    second.cancel(CAUSE)
    store.save(first)
    with pytest.raises(ConcurrencyConflictError):
        store.save(second)
    assert [e.name for e in store.history(job.job_id)] == ["JobRequested", "JobPaused"]


def test_values_that_look_like_sql_are_stored_as_they_are(store: JobStore) -> None:
    """The append binds its values client-side into one query (recorder.py): quotes,
    backslashes, placeholders, NULs and statements in a tenant's text stay text."""
    goals = [
        "'); DROP TABLE bdg_job_events; --",
        "$$ %s %(x)s \\x00 \\' E'\\\\' ; COMMIT; BEGIN",
        "nul \x00 inside, unicode \u2028 \U0001f600 and a \\",
    ]
    jobs = [Job.request(uuid4(), "acme", CAUSE, goal=goal) for goal in goals]
    store.append([e for job in jobs for e in job.collect()])

    assert [store.load(job.job_id).goal for job in jobs] == goals
    assert len(store.history(jobs[0].job_id)) == 1


async def test_an_illegal_command_writes_nothing(store: JobStore) -> None:
    commands = JobCommands(JobApplication(store))
    job = await commands.create(ALICE, cmd.RequestJob(goal="g"))
    with pytest.raises(IllegalTransitionError, match="not allowed while the job is planning"):
        await commands.approve_deploy(ALICE, job.job_id)
    assert len(store.history(job.job_id)) == 1


async def test_another_tenant_cannot_see_or_touch_the_job(store: JobStore) -> None:
    commands = JobCommands(JobApplication(store))
    job = await commands.create(ALICE, cmd.RequestJob(goal="secret"))
    mallory = Caller("evil-corp", "mallory")
    with pytest.raises(JobNotFoundError):
        await commands.get(mallory, job.job_id)
    with pytest.raises(JobNotFoundError):
        await commands.cancel(mallory, job.job_id, cmd.CancelJob())
    assert len(store.history(job.job_id)) == 1


async def test_the_job_as_it_was_at_a_version(store: JobStore) -> None:
    commands = JobCommands(JobApplication(store))
    job = await commands.create(ALICE, cmd.RequestJob(goal="g"))
    await commands.pause(ALICE, job.job_id, cmd.PauseJob())
    await commands.cancel(ALICE, job.job_id, cmd.CancelJob())
    assert (await commands.get(ALICE, job.job_id, at_version=1)).state == JobState.planning
    assert (await commands.get(ALICE, job.job_id, at_version=2)).state == JobState.paused
    assert (await commands.get(ALICE, job.job_id)).state == JobState.cancelled


async def test_a_version_the_job_never_had_is_not_found(store: JobStore) -> None:
    commands = JobCommands(JobApplication(store))
    job = await commands.create(ALICE, cmd.RequestJob(goal="g"))
    with pytest.raises(JobNotFoundError, match="has no version 7"):
        await commands.get(ALICE, job.job_id, at_version=7)


async def test_the_tenant_chooses_plan_approval_unless_the_request_does(store: JobStore) -> None:
    from bdg_jobs.tenants import TenantPolicies, TenantPolicy

    policies = TenantPolicies(tenants={"acme": TenantPolicy(plan_approval="auto")})
    commands = JobCommands(JobApplication(store), policies=policies)
    chosen = await commands.create(ALICE, cmd.RequestJob(goal="g"))
    assert chosen.plan_approval == "auto"
    asked = await commands.create(ALICE, cmd.RequestJob(goal="g", plan_approval="gated"))
    assert asked.plan_approval == "gated"
    other = await commands.create(Caller("beta", "bob"), cmd.RequestJob(goal="g"))
    assert other.plan_approval == "gated"
