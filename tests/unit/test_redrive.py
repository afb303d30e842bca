"""Which event a stalled, resumed or retried job is waiting on."""

from __future__ import annotations

from bdg_contracts import events as ev
from bdg_contracts.states import Step
from bdg_jobs.domain import Cause
from bdg_jobs.redrive import pending_trigger
from tests.unit.jobs import CAUSE, new_job


def reaction_to(event: ev.Event, producer: str) -> Cause:
    return Cause(producer, CAUSE.occurred_at, causation_id=event.event_id)


def test_a_new_job_waits_on_its_request() -> None:
    job = new_job()
    history = job.collect()
    assert pending_trigger(history) == history[0]


def test_nothing_is_pending_once_the_planner_reacted() -> None:
    job = new_job()
    requested = job.collect()[0]
    job.make_plan_ready(reaction_to(requested, "planner"), "- [ ] a")
    assert pending_trigger([requested, *job.collect()]) is None  # waits on a human now


def test_a_retried_step_waits_on_the_event_that_failed() -> None:
    job = new_job()
    history = job.collect()
    job.fail_step(reaction_to(history[0], "planner"), Step.planning, "planner", "boom", 1)
    history += job.collect()
    assert pending_trigger(history) is None  # failed: nothing to do until a retry
    job.retry_step(CAUSE)
    history += job.collect()
    assert pending_trigger(history) == history[0]


def test_a_paused_job_waits_for_nothing_and_a_resumed_one_for_its_trigger() -> None:
    job = new_job()
    job.pause(CAUSE)
    history = job.collect()
    assert pending_trigger(history) is None
    job.resume(CAUSE)
    history += job.collect()
    assert pending_trigger(history) == history[0]
