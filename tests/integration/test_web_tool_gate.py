"""Gated tool calls decided in Debian's Chromium: the job page shows each waiting call with its
arguments, and "Approve call" / "Deny call" go through the gateway (uvicorn on real PostgreSQL
and NATS). The calls are made by the coder's own ToolCaller, as in test_tools_gate.py."""

from __future__ import annotations

import json

import httpx
import pytest
from playwright.async_api import Browser, expect

from bdg_tools import outcomes as oc
from bdg_tools.spec import ToolContext
from tests.gateway_stack import Keys, Stack, new_tenant
from tests.integration.tool_jobs import COMMAND, Counting, caller_for, coding_job

pytestmark = pytest.mark.timeout(120)
CLEANUP = json.dumps({"argv": ["rm", "-rf", "dist"], "timeout_s": None})


async def test_gated_calls_are_approved_and_denied_from_the_job_page(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, live_url: str, browser: Browser
) -> None:
    tenant = new_tenant()
    job_id = await coding_job(client, keys, stack, tenant)
    executor = Counting()
    caller = caller_for(stack, executor)
    ctx = ToolContext(job_id, tenant, "coder", user_id="alice", scope="turn-1")
    first = await caller.call(ctx, "run_command", COMMAND)
    assert isinstance(first, oc.AwaitingApproval)
    token = keys.token(tenant, sub="bob", expires_in=600)
    context = await browser.new_context()
    await context.add_init_script(f"localStorage.setItem('bdg.token', {token!r})")
    page = await context.new_page()
    await page.goto(f"{live_url.replace('ws://', 'http://')}/app/jobs/{job_id}")
    gate = page.get_by_role("region", name="Tool call run_command")
    await expect(gate).to_contain_text("needs a person's approval")
    await expect(gate.locator("pre")).to_contain_text("deploy")  # its arguments
    await expect(page.get_by_test_id("job-state")).to_have_text("paused")
    await gate.get_by_role("button", name="Approve call").click()
    await expect(page.get_by_test_id("job-state")).to_have_text("coding")
    await expect(gate).to_have_count(0)

    # The next gated call arrives over the live stream while the page is open.
    ctx = ToolContext(job_id, tenant, "coder", user_id="alice", scope="turn-2")
    second = await caller.call(ctx, "run_command", CLEANUP)
    assert isinstance(second, oc.AwaitingApproval)
    await expect(gate.locator("pre")).to_contain_text("dist")
    await gate.get_by_role("button", name="Deny call").click()
    await expect(page.get_by_test_id("job-state")).to_have_text("coding")
    await expect(gate).to_have_count(0)

    events = (
        await client.get(f"/jobs/{job_id}/events", headers=keys.headers(tenant, sub="bob"))
    ).json()
    decided = [
        (e["name"], e["event"]["call_id"], e["event"].get("approved_by") or e["event"]["denied_by"])
        for e in events
        if e["name"] in ("ToolCallApproved", "ToolCallDenied")
    ]
    assert decided == [
        ("ToolCallApproved", first.call_id, "bob"),
        ("ToolCallDenied", second.call_id, "bob"),
    ]
    assert executor.runs == []  # an approval lets the re-driven step run it; a denial never
