"""A small finished job history and a signing key, for the audit tests (made at test time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from bdg_contracts.base import Event
from bdg_jobs.domain import Cause, Job

T0 = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)


def ended_job(job_id: UUID | None = None, tenant: str = "acme", user: str = "ada") -> Job:
    """Requested, planned (with a paid model call), approved, a tool call, then cancelled."""
    clock = iter(T0 + timedelta(seconds=i) for i in range(100))

    def cause(producer: str) -> Cause:
        return Cause(producer=producer, occurred_at=next(clock), user_id=user)

    job = Job.request(job_id or uuid4(), tenant, cause(f"user:{user}"), goal="add a, b\nplease")
    job.record_llm_call(
        cause("planner"),
        role="planner",
        model="gpt-4o-mini",
        request_hash="r1",
        response="plan",
        prompt_tokens=120,
        completion_tokens=80,
        cost_usd=0.00123,
    )
    job.make_plan_ready(cause("planner"), "1. add\n2. test")
    job.approve_plan(cause(f"user:{user}"), approved_by=user)
    job.call_tool(
        cause("coder"),
        tool="write_file",
        arguments_json='{"path": "a.py", "text": "x = 1"}',
        result="ok",
        idempotency_key="k1",
    )
    job.cancel(cause(f"user:{user}"), reason="enough")
    return job


def history_of(job: Job) -> list[Event]:
    return list(job.collect())
