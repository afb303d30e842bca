"""Builders of jobs in any state, for domain tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import uuid4

from bdg_contracts.events import TestResults
from bdg_contracts.states import JobState, Step
from bdg_jobs.domain import Cause, Job

CAUSE = Cause(producer="test", occurred_at=datetime(2026, 1, 1, tzinfo=UTC))
RESULTS = TestResults(total=3, failed=0)


def new_job(**fields: object) -> Job:
    return Job.request(uuid4(), "tenant-a", CAUSE, goal="build it", **fields)


def _coding(j: Job) -> None:
    j.make_plan_ready(CAUSE, "- [ ] step")
    j.approve_plan(CAUSE, "alice")


def _reviewing(j: Job) -> None:
    _coding(j)
    j.finish_coding(CAUSE)
    j.pass_tests(CAUSE, RESULTS)


def _awaiting_deploy(j: Job) -> None:
    _reviewing(j)
    j.complete_review(CAUSE, approved=True, score=9, notes="ok")
    j.await_deploy_approval(CAUSE, "preview")


def _deploying(j: Job) -> None:
    _awaiting_deploy(j)
    j.approve_deploy(CAUSE, "alice")


def _testing(j: Job) -> None:
    _coding(j)
    j.finish_coding(CAUSE)


def _done(j: Job) -> None:
    _deploying(j)
    j.deploy(CAUSE, "https://x.example")


PATHS: dict[JobState, Callable[[Job], None]] = {
    JobState.planning: lambda j: None,
    JobState.awaiting_plan_approval: lambda j: j.make_plan_ready(CAUSE, "- [ ] step"),
    JobState.coding: _coding,
    JobState.testing: _testing,
    JobState.reviewing: _reviewing,
    JobState.awaiting_deploy_approval: _awaiting_deploy,
    JobState.deploying: _deploying,
    JobState.done: _done,
    JobState.failed: lambda j: j.fail_step(CAUSE, Step.planning, "planner", "boom", 1),
    JobState.cancelled: lambda j: j.cancel(CAUSE, "no"),
    JobState.paused: lambda j: j.pause(CAUSE, "wait"),
    JobState.suspended_budget: lambda j: j.exceed_budget(CAUSE, 1.0, 2.0, "job:t:j", ""),
}


def job_in(state: JobState) -> Job:
    job = new_job()
    PATHS[state](job)
    job.collect()
    assert job.state == state, (job.state, state)
    return job
