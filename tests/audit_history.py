"""A small finished job history and a signing key, for the audit tests (made at test time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from bdg_contracts import events as ev
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


def deployed_job(tenant: str = "acme", user: str = "ada", approver: str = "grace") -> Job:
    """Requested, planned, coded, tested, reviewed, deploy approved by ``approver``, deployed,
    then rolled back (done, then done again)."""
    clock = iter(T0 + timedelta(minutes=i) for i in range(100))

    def cause(producer: str, who: str = user) -> Cause:
        return Cause(producer=producer, occurred_at=next(clock), user_id=who)

    job = Job.request(uuid4(), tenant, cause(f"user:{user}"), goal="ship it")
    job.record_llm_call(
        cause("planner"),
        role="planner",
        model="gpt-4o-mini",
        request_hash="r1",
        response="plan",
        prompt_tokens=10,
        completion_tokens=10,
        cost_usd=0.25,
    )
    job.make_plan_ready(cause("planner"), "1. ship")
    job.approve_plan(cause(f"user:{user}"), approved_by=user)
    job.finish_coding(cause("coder"), summary="done")
    job.pass_tests(cause("tester"), ev.TestResults(total=3, failed=0))
    job.complete_review(cause("planner"), approved=True, score=9, notes="fine")
    job.await_deploy_approval(cause("deployer"), target="preview")
    job.approve_deploy(cause(f"user:{approver}", approver), approved_by=approver)
    job.deploy(cause("deployer"), url="https://app.example/v1")
    job.request_rollback(cause(f"user:{user}"), reason="broken")
    job.roll_back(cause("deployer"), to_url="https://app.example/v0")
    return job
