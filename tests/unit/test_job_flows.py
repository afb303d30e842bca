"""Flows through the aggregate: retries, reviews, pauses, budgets, replay equality."""

from __future__ import annotations

import pytest

from bdg_contracts import events as ev
from bdg_contracts.states import JobState, Step
from bdg_jobs.domain import Job
from bdg_jobs.errors import IllegalTransitionError
from tests.unit.jobs import CAUSE, PATHS, RESULTS, job_in, new_job


def test_auto_approval_goes_straight_to_coding() -> None:
    job = new_job(plan_approval="auto")
    job.make_plan_ready(CAUSE, "- [ ] a")
    names = [e.name for e in job.collect()]
    assert names == ["JobRequested", "PlanReady", "PlanApproved"]
    assert job.state == JobState.coding
    assert job.attempt == 1


def test_failed_tests_loop_back_until_attempts_run_out() -> None:
    job = new_job(max_attempts=2)
    job.make_plan_ready(CAUSE, "p")
    job.approve_plan(CAUSE, "a")
    job.finish_coding(CAUSE)
    job.fail_tests(CAUSE, RESULTS, "t1 failed")
    assert (job.state, job.attempt) == (JobState.coding, 2)
    job.finish_coding(CAUSE)
    job.fail_tests(CAUSE, RESULTS, "t1 failed again")
    assert job.state == JobState.failed
    assert job.failed_step == Step.testing
    assert isinstance(job.collect()[-1], ev.StepFailed)


def test_rejected_review_reworks_once_then_fails() -> None:
    job = job_in(JobState.reviewing)
    job.complete_review(CAUSE, approved=False, score=3, notes="missing tests")
    assert job.state == JobState.coding
    job.finish_coding(CAUSE)
    job.pass_tests(CAUSE, RESULTS)
    job.complete_review(CAUSE, approved=False, score=3, notes="still")
    assert job.state == JobState.failed
    assert job.failed_step == Step.reviewing


def test_deploy_approval_needs_an_approving_review() -> None:
    job = job_in(JobState.reviewing)
    with pytest.raises(IllegalTransitionError):
        job.await_deploy_approval(CAUSE, "t")
    job.complete_review(CAUSE, approved=True, score=9, notes="")
    job.await_deploy_approval(CAUSE, "t")
    assert job.state == JobState.awaiting_deploy_approval


def test_pause_and_budget_nest() -> None:
    job = job_in(JobState.coding)
    job.pause(CAUSE)
    job.exceed_budget(CAUSE, 1.0, 1.5, "tenant:t", "2026-01")
    assert job.state == JobState.suspended_budget
    job.raise_budget(CAUSE, 10.0)
    assert job.state == JobState.paused
    job.resume(CAUSE)
    assert job.state == JobState.coding


def test_retry_returns_to_the_failed_step_and_forgets_the_failure() -> None:
    job = job_in(JobState.testing)
    job.fail_step(CAUSE, Step.testing, "tester", "sandbox down", 5)
    retried = job.retry_step(CAUSE)
    assert (retried.step, retried.service, retried.failed_event_version) == (
        Step.testing,
        "tester",
        5,
    )
    assert job.state == JobState.testing
    assert job.failed_step is None


def test_canary_then_promote_and_rollback() -> None:
    job = job_in(JobState.deploying)
    job.deploy(CAUSE, "https://canary.example", canary=True)
    assert job.state == JobState.deploying
    job.promote_canary(CAUSE)
    assert job.state == JobState.done
    job.request_rollback(CAUSE, "500s")
    job.roll_back(CAUSE, "https://old.example")
    assert job.state == JobState.done


def test_replay_rebuilds_the_same_job() -> None:
    job = new_job()
    PATHS[JobState.deploying](job)
    job.record_llm_call(
        CAUSE,
        role="coder",
        model="m",
        request_hash="h",
        response="r",
        prompt_tokens=10,
        completion_tokens=5,
        cost_usd=0.25,
    )
    again = Job.replay(job.collect())
    for field in ("state", "version", "attempt", "plan_markdown", "cost_usd", "reactions"):
        assert getattr(again, field) == getattr(job, field)
    assert again.cost_usd == pytest.approx(0.25)


def test_replay_refuses_a_history_with_a_gap() -> None:
    job = job_in(JobState.coding)
    job.finish_coding(CAUSE)
    events = job.collect()
    first = new_job()
    with pytest.raises(ValueError, match="does not follow"):
        Job.replay([*first.collect(), *events])
