"""The gateway's ``bdg_jobs{state}`` gauge: every tenant's jobs counted by state from the read
model, every state present (0 when none), refreshed until the stop."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from bdg_contracts import commands as cmd
from bdg_contracts.states import JobState
from bdg_gateway.observability import count_jobs_per_state
from bdg_jobs.domain import Cause, Job
from bdg_jobs.user_commands import Caller
from tests.gateway_stack import Stack, new_tenant
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(60)


def gauge(state: JobState) -> float | None:
    return REGISTRY.get_sample_value("bdg_jobs", {"state": state.value})


async def test_jobs_are_counted_per_state_across_tenants(stack: Stack) -> None:
    first, second = Caller(new_tenant(), "u1"), Caller(new_tenant(), "u2")
    for caller in (first, first, second):
        await stack.commands.create(caller, cmd.RequestJob(goal="count me"))
    planned = await stack.commands.create(second, cmd.RequestJob(goal="plan me"))

    def plan(job: Job, cause: Cause) -> None:
        job.make_plan_ready(cause, "## Plan\n- one step")

    await stack.decide(planned.job_id, plan)
    stack.project()
    stop = asyncio.Event()
    counting = asyncio.create_task(count_jobs_per_state(stack.queries, stop, every=0.05))

    async def counted() -> bool:
        return gauge(JobState.planning) == 3

    await eventually(counted, 10, "three jobs planning")
    assert gauge(JobState.awaiting_plan_approval) == 1
    assert gauge(JobState.done) == 0  # every state is there, none is left stale
    stop.set()
    await asyncio.wait_for(counting, 5)
