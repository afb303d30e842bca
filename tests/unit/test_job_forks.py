"""Forking a job's history: renamed copies that keep their causal links, cuts only between
reactions, never from a finished job."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bdg_contracts.states import JobState
from bdg_jobs.domain import Cause, Job
from bdg_jobs.forks import ForkError, fork_history, reaction_span

T0 = datetime(2026, 1, 1, tzinfo=UTC)
FORKER = Cause(producer="user:bob", occurred_at=datetime(2026, 2, 1, tzinfo=UTC), user_id="bob")


def planned_history() -> list[Event]:
    """JobRequested, then the planner's one reaction (LlmCalled, PlanDrafted, PlanReady), then
    the user's approval."""
    job = Job.request(
        uuid4(),
        "acme",
        Cause("user:alice", T0, "cmd-1", "alice"),
        goal="g",
        models={"planner": "old-model"},
    )
    history = job.collect()
    planner = Cause("planner", T0, history[0].event_id)
    job.record_llm_call(
        planner,
        role="planner",
        model="old-model",
        request_hash="h",
        response="- [ ] a",
        prompt_tokens=10,
        completion_tokens=5,
        cost_usd=0.5,
    )
    job.draft_plan(planner, "- [ ] a", 1)
    job.make_plan_ready(planner, "- [ ] a")
    job.approve_plan(Cause("user:alice", T0, "cmd-2", "alice"), "alice")
    return [*history, *job.collect()]


def test_a_fork_copies_the_events_up_to_the_cut_under_new_ids() -> None:
    history = planned_history()
    new_id = uuid4()
    copies = fork_history(history, 4, new_id, FORKER, {"planner": "new-model"})
    assert [e.name for e in copies] == [e.name for e in history[:4]]
    assert {e.job_id for e in copies} == {new_id}
    assert {e.correlation_id for e in copies} == {str(new_id)}
    assert not {e.event_id for e in copies} & {e.event_id for e in history}
    request = copies[0]
    assert isinstance(request, ev.JobRequested)
    assert request.forked_from == ev.ForkedFrom(job_id=history[0].job_id, version=4)
    assert request.models == {"planner": "new-model"}
    assert (request.producer, request.user_id, request.occurred_at) == (
        "user:bob",
        "bob",
        FORKER.occurred_at,
    )
    # The planner's reaction now points at the copied request: the fork knows it was planned.
    assert {e.causation_id for e in copies[1:4]} == {request.event_id}
    job = Job.replay(copies)
    assert job.has_reacted("planner", request.event_id)
    assert job.state == JobState.awaiting_plan_approval
    assert job.models == {"planner": "new-model"}
    assert job.cost_usd == pytest.approx(0.5)


def test_models_not_named_are_kept_from_the_original() -> None:
    history = planned_history()
    copies = fork_history(history, 1, uuid4(), FORKER, {"coder": "c"})
    assert isinstance(copies[0], ev.JobRequested)
    assert copies[0].models == {"planner": "old-model", "coder": "c"}
    assert Job.replay(copies).state == JobState.planning


def test_a_cut_inside_a_reaction_is_refused_and_names_both_ends() -> None:
    history = planned_history()
    assert reaction_span(history, 3) == (2, 4)
    assert reaction_span(history, 1) is None
    with pytest.raises(
        ForkError, match=r"inside one reaction of planner \(versions 2..4\); fork at 1 or 4"
    ):
        fork_history(history, 3, uuid4(), FORKER, {})


def test_a_cut_past_the_end_is_refused() -> None:
    history = planned_history()
    with pytest.raises(ForkError, match="has 5 events; cannot fork at version 6"):
        fork_history(history, 6, uuid4(), FORKER, {})


def test_a_finished_job_is_not_forked_where_nothing_would_run() -> None:
    history = planned_history()
    job = Job.replay(history)
    job.cancel(Cause("user:alice", T0, "cmd-3", "alice"), "no")
    cancelled = [*history, *job.collect()]
    with pytest.raises(ForkError, match="cancelled at version 6"):
        fork_history(cancelled, 6, uuid4(), FORKER, {})
    # Before the cancel it can.
    assert len(fork_history(cancelled, 5, uuid4(), FORKER, {})) == 5
