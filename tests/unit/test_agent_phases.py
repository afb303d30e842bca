"""The bench's time by step: the gap before each event goes to its producer (a model call's to
its role), as the services append a step's events together when it ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bench.agent_phases import shown, step_seconds, summed

START = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
JOB = uuid4()


def at(seconds: float, version: int, producer: str, role: str = "") -> Event:
    when = START + timedelta(seconds=seconds)
    if not role:
        return ev.PlanApproved(
            approved_by="auto", job_id=JOB, version=version, correlation_id="c", tenant_id="t",
            producer=producer, occurred_at=when,
        )  # fmt: skip
    return ev.LlmCalled(
        role=role, model="m", request_hash="h", response="r", prompt_tokens=1,
        completion_tokens=1, cost_usd=0.0, job_id=JOB, version=version, correlation_id="c",
        tenant_id="t", producer=producer, occurred_at=when,
    )  # fmt: skip


def test_each_gap_goes_to_the_producer_of_the_event_after_it_a_model_call_s_to_its_role() -> None:
    """As a bench job's log reads (held-out js-chunk, session 14): the plan's events appended
    together 40.7 s after the request, the coder's tool calls as they ran, the review's model
    call first in the planner service's review step."""
    history = [
        at(0, 1, "user:root"),
        at(40.7, 2, "planner"),  # the planning step's first event
        at(40.7, 3, "planner", role="planner"),
        at(40.7, 4, "planner", role="critic"),
        at(52.5, 5, "coder"),  # a tool call after the coder's first answer
        at(72.7, 6, "coder"),
        at(72.7, 7, "coder", role="coder"),  # appended with the step's end
        at(73.5, 8, "tester"),
        at(95.6, 9, "planner", role="reviewer"),
        at(95.6, 10, "planner"),
        at(95.7, 11, "deployer"),
    ]
    steps = step_seconds(history)
    assert steps == {"coder": 32.0, "critic": 0.0, "deployer": 0.1, "planner": 40.7,
                     "reviewer": 22.1, "tester": 0.8}  # fmt: skip
    assert sum(steps.values()) == pytest.approx(95.7)  # the job's whole time, step by step
    assert step_seconds([at(3, 1, "coder", role="coder")]) == {}  # nothing before it
    both = summed([steps, {"coder": 5.0, "reviewer": 1.25}])
    assert both["coder"] == 37.0
    assert both["reviewer"] == 23.4  # 22.1 + 1.25, rounded
    assert shown(both) == "planner 41 s, coder 37 s, reviewer 23 s, tester 1 s"
    assert shown({"critic": 0.0}) == "none"
