"""Gated and forbidden tool calls over a real PostgreSQL and NATS, decided through the gateway."""

from __future__ import annotations

import asyncio
import json
from uuid import UUID

import httpx
import pytest
from nats.aio.msg import Msg

from bdg_contracts import events as ev
from bdg_contracts import subjects, wire
from bdg_contracts import tool_events as tev
from bdg_tools import outcomes as oc
from bdg_tools.policy import ToolPolicy
from bdg_tools.spec import ToolContext
from tests.gateway_stack import Keys, Stack, new_tenant
from tests.integration.tool_jobs import COMMAND, Counting, caller_for, coding_job

pytestmark = pytest.mark.timeout(60)


async def redriven(stack: Stack, tenant: str, job_id: UUID) -> asyncio.Future[ev.Event]:
    """A future of the next PlanApproved published for the job (the re-driven trigger)."""
    future: asyncio.Future[ev.Event] = asyncio.get_running_loop().create_future()

    async def seen(msg: Msg) -> None:
        if not future.done():
            future.set_result(wire.decode(msg.headers or {}, msg.data))

    await stack.nc.subscribe(
        subjects.event_subject(tenant, job_id, ev.PlanApproved.__name__), cb=seen
    )
    await stack.nc.flush()
    return future


async def test_a_gated_call_waits_for_approval_through_the_api_then_runs_once(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    job_id = await coding_job(client, keys, stack, tenant)
    executor = Counting()
    caller = caller_for(stack, executor)
    ctx = ToolContext(job_id, tenant, "coder", user_id="alice", scope="turn-3")

    waiting = await caller.call(ctx, "run_command", COMMAND)
    assert isinstance(waiting, oc.AwaitingApproval)
    auth = keys.headers(tenant, sub="bob")
    job = (await client.get(f"/jobs/{job_id}", headers=auth)).json()
    assert job["state"] == "paused"
    listed = (await client.get(f"/jobs/{job_id}/tool-calls", headers=auth)).json()
    assert [(x["call_id"], x["tool"], x["requested_by"]) for x in listed] == [
        (waiting.call_id, "run_command", "coder")
    ]
    assert "needs a person's approval" in listed[0]["reason"]
    assert json.loads(listed[0]["arguments_json"])["argv"] == ["make", "deploy"]
    assert executor.runs == []

    # Another tenant sees no such job; an unknown call id is a conflict, nothing recorded.
    other = keys.headers(new_tenant())
    url = f"/jobs/{job_id}/tool-calls/{waiting.call_id}"
    assert (await client.post(f"{url}/approve", headers=other)).status_code == 404
    wrong = f"/jobs/{job_id}/tool-calls/01ARZ3NDEKTSV4RRFFQ69G5FAV/approve"
    refused = await client.post(wrong, headers=auth)
    assert refused.status_code == 409
    assert "awaits approval" in refused.json()["detail"]

    trigger = await redriven(stack, tenant, job_id)
    approved = await client.post(f"{url}/approve", headers=auth)
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "coding"
    assert (await asyncio.wait_for(trigger, 10)).name == "PlanApproved"  # the coder runs again
    assert (await client.get(f"/jobs/{job_id}/tool-calls", headers=auth)).json() == []

    ran = await caller.call(ctx, "run_command", COMMAND)
    assert isinstance(ran, oc.Ran)
    assert json.loads(ran.content)["stdout"] == "deployed"
    replayed = await caller.call(ctx, "run_command", COMMAND)  # a redelivery
    assert isinstance(replayed, oc.Replayed)
    assert len(executor.runs) == 1

    events = (await client.get(f"/jobs/{job_id}/events", headers=auth)).json()
    names = [e["name"] for e in events]
    tail = names[names.index("ToolCallRequested") :]
    assert tail == ["ToolCallRequested", "ToolCallApproved", "ToolCalled"]
    assert events[-2]["event"]["approved_by"] == "bob"


async def test_a_denied_call_is_recorded_and_the_job_resumes_with_the_denial(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    job_id = await coding_job(client, keys, stack, tenant)
    executor = Counting()
    caller = caller_for(stack, executor)
    ctx = ToolContext(job_id, tenant, "coder", user_id="alice")
    waiting = await caller.call(ctx, "run_command", COMMAND)
    auth = keys.headers(tenant, sub="bob")
    denied = await client.post(
        f"/jobs/{job_id}/tool-calls/{waiting.call_id}/deny",
        json={"reason": "not on a Friday"},
        headers=auth,
    )
    assert denied.status_code == 200, denied.text
    assert denied.json()["state"] == "coding"

    result = await caller.call(ctx, "run_command", COMMAND)
    assert isinstance(result, oc.Denied)
    assert "bob denied this call of run_command: not on a Friday" in result.content
    assert executor.runs == []
    history = await stack.app.history(job_id)
    (denial,) = [e for e in history if isinstance(e, tev.ToolCallDenied)]
    assert denial.call_id == waiting.call_id
    assert denial.reason == "not on a Friday"
    again = await client.post(f"/jobs/{job_id}/tool-calls/{waiting.call_id}/deny", headers=auth)
    assert again.status_code == 409


async def test_a_forbidden_call_is_refused_and_recorded(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    job_id = await coding_job(client, keys, stack, tenant)
    executor = Counting()
    policy = ToolPolicy.model_validate({"tenants": {tenant: {"tools": {"*": "forbid"}}}})
    caller = caller_for(stack, executor, policy)
    ctx = ToolContext(job_id, tenant, "coder", user_id="alice")
    outcome = await caller.call(ctx, "run_command", COMMAND)
    assert isinstance(outcome, oc.Refused)
    assert executor.runs == []
    events = (await client.get(f"/jobs/{job_id}/events", headers=keys.headers(tenant))).json()
    assert events[-1]["name"] == "ToolCallRefused"
    assert events[-1]["event"]["tool"] == "run_command"
    assert (await stack.job(job_id)).state.value == "coding"
