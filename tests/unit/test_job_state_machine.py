"""Every state x every command: legal ones append, illegal ones raise and append nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bdg_contracts.states import JobState, Step
from bdg_jobs.domain import Job
from bdg_jobs.errors import IllegalTransitionError
from tests.unit.jobs import CAUSE, RESULTS, job_in

S = JobState
ALL = set(JobState)
NOT_TERMINAL = ALL - {S.done, S.cancelled}
ACTIVE = {
    S.planning,
    S.awaiting_plan_approval,
    S.coding,
    S.testing,
    S.reviewing,
    S.awaiting_deploy_approval,
    S.deploying,
}
WORKING = {S.planning, S.coding, S.testing, S.reviewing, S.deploying}

# command -> (call, states where it is legal), written out independently of the domain's table.
COMMANDS: dict[str, tuple[Callable[[Job], None], set[JobState]]] = {
    "draft_plan": (lambda j: j.draft_plan(CAUSE, "- [ ] a", 1), {S.planning}),
    "critique_plan": (lambda j: j.critique_plan(CAUSE, 1, 7), {S.planning}),
    "make_plan_ready": (lambda j: j.make_plan_ready(CAUSE, "- [ ] a"), {S.planning}),
    "edit_plan": (lambda j: j.edit_plan(CAUSE, "- [ ] b"), {S.awaiting_plan_approval}),
    "approve_plan": (lambda j: j.approve_plan(CAUSE, "bob"), {S.awaiting_plan_approval}),
    "call_tool": (
        lambda j: j.call_tool(
            CAUSE, tool="read", arguments_json="{}", result="", idempotency_key="k"
        ),
        {S.coding},
    ),
    "request_tool_approval": (
        lambda j: j.request_tool_approval(
            CAUSE,
            call_id="c1",
            tool="run_command",
            arguments_json="{}",
            idempotency_key="k",
            reason="r",
        ),
        {S.coding},
    ),
    # Needs a gated call awaiting approval: no canonical state has one (test_tools_registry).
    "approve_tool_call": (lambda j: j.approve_tool_call(CAUSE, "c1", "bob"), set()),
    "deny_tool_call": (lambda j: j.deny_tool_call(CAUSE, "c1", "bob", "no"), set()),
    "refuse_tool_call": (
        lambda j: j.refuse_tool_call(
            CAUSE,
            call_id="c1",
            tool="deploy",
            arguments_json="{}",
            idempotency_key="k",
            reason="forbidden",
        ),
        {S.coding},
    ),
    "reject_tool_call": (
        lambda j: j.reject_tool_call(
            CAUSE,
            call_id="c1",
            tool="nope",
            arguments_json="{}",
            idempotency_key="k",
            message="unknown tool",
        ),
        {S.coding},
    ),
    "change_files": (
        lambda j: j.change_files(CAUSE, "--- a\n+++ b\n", ("a",)),
        {S.coding, S.testing},
    ),
    "finish_coding": (lambda j: j.finish_coding(CAUSE), {S.coding}),
    "pass_tests": (lambda j: j.pass_tests(CAUSE, RESULTS), {S.testing}),
    "fail_tests": (lambda j: j.fail_tests(CAUSE, RESULTS, "x failed"), {S.testing}),
    "complete_review": (lambda j: j.complete_review(CAUSE, True, 8, ""), {S.reviewing}),
    # Needs an approving review first: no canonical state has one pending.
    "await_deploy_approval": (lambda j: j.await_deploy_approval(CAUSE, "t"), set()),
    "measure_preview": (
        lambda j: j.measure_preview(CAUSE, "r-1", "http://r-1.s.localhost/", {"seo": 95}, 90),
        set(),  # also needs an approving review first
    ),
    "approve_deploy": (lambda j: j.approve_deploy(CAUSE, "bob"), {S.awaiting_deploy_approval}),
    "deploy": (lambda j: j.deploy(CAUSE, "https://x.example"), {S.deploying}),
    "promote_canary": (lambda j: j.promote_canary(CAUSE), set()),
    "request_rollback": (lambda j: j.request_rollback(CAUSE, "bad"), {S.done}),
    "roll_back": (lambda j: j.roll_back(CAUSE), {S.deploying}),
    "record_llm_call": (
        lambda j: j.record_llm_call(
            CAUSE,
            role="planner",
            model="m",
            request_hash="h",
            response="r",
            prompt_tokens=1,
            completion_tokens=1,
            cost_usd=0.01,
        ),
        ALL,
    ),
    "record_settings": (lambda j: j.record_settings(CAUSE, "coder", {"max_steps": "6"}), WORKING),
    "fail_step": (lambda j: j.fail_step(CAUSE, Step.coding, "coder", "x", 1), WORKING),
    "retry_step": (lambda j: j.retry_step(CAUSE), {S.failed}),
    "pause": (lambda j: j.pause(CAUSE), ACTIVE),
    "resume": (lambda j: j.resume(CAUSE), {S.paused}),
    "cancel": (lambda j: j.cancel(CAUSE), NOT_TERMINAL),
    "exceed_budget": (lambda j: j.exceed_budget(CAUSE, 1, 2, "job:t:j", ""), ACTIVE | {S.paused}),
    "raise_budget": (lambda j: j.raise_budget(CAUSE, 5), NOT_TERMINAL),
}

CASES = [(state, name) for state in JobState for name in COMMANDS]


@pytest.mark.parametrize(("state", "command"), CASES, ids=[f"{s.value}-{c}" for s, c in CASES])
def test_state_x_command(state: JobState, command: str) -> None:
    job = job_in(state)
    call, legal = COMMANDS[command]
    version = job.version
    if state in legal:
        call(job)
        assert job.version > version
        assert len(job.collect()) == job.version - version
    else:
        with pytest.raises(IllegalTransitionError):
            call(job)
        assert job.version == version
        assert job.pending == []
        assert job.state == state


def test_every_state_is_reachable_and_covered() -> None:
    assert {s for s, _ in CASES} == set(JobState)
