"""The bench's model time per role: the gap before each ``LlmCalled`` in the job's log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bench.agent_phases import model_seconds, shown, summed

START = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
JOB = uuid4()


def at(seconds: float, version: int, role: str = "") -> Event:
    when = START + timedelta(seconds=seconds)
    if not role:
        return ev.PlanApproved(
            approved_by="auto", job_id=JOB, version=version, correlation_id="c", tenant_id="t",
            producer="user:alice", occurred_at=when,
        )  # fmt: skip
    return ev.LlmCalled(
        role=role, model="m", request_hash="h", response="r", prompt_tokens=1,
        completion_tokens=1, cost_usd=0.0, job_id=JOB, version=version, correlation_id="c",
        tenant_id="t", producer=role, occurred_at=when,
    )  # fmt: skip


def test_each_call_is_the_gap_since_the_event_before_and_roles_add_up() -> None:
    history = [
        at(0, 1),
        at(40, 2, "planner"),  # 40 s of planning
        at(45, 3),  # a tool call, not the model's time
        at(57.5, 4, "coder"),
        at(60, 5, "coder"),  # a second call right after the first: 2.5 s
        at(90, 6),
    ]
    assert model_seconds(history) == {"coder": 15.0, "planner": 40.0}
    assert model_seconds([at(3, 1, "coder")]) == {}  # no event before: not measured
    both = summed([model_seconds(history), {"coder": 5.0, "reviewer": 1.25}])
    assert both == {"coder": 20.0, "planner": 40.0, "reviewer": 1.2}
    assert shown(both) == "planner 40 s, coder 20 s, reviewer 1 s"
    assert shown({}) == "no model call"
