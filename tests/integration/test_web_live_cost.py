"""The job page's cost moves with the WebSocket in Debian's Chromium: each model call's frame
carries the job's total (``job_cost_usd``) and the page shows it at once, without fetching the
job again per call (a pause and a resume, which change what the job shows, still do). The
gateway is uvicorn on real PostgreSQL and NATS."""

from __future__ import annotations

import re
from uuid import UUID

import httpx
import pytest
from playwright.async_api import Browser, Request, expect

from bdg_jobs.domain import Cause, Job
from tests.gateway_stack import Keys, Stack, new_tenant
from tests.integration.gateway_calls import create

pytestmark = pytest.mark.timeout(120)
COSTS = (0.0012, 0.0025, 0.0101)


async def test_the_cost_shown_follows_the_frames_without_a_fetch_per_model_call(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, live_url: str, browser: Browser
) -> None:
    tenant = new_tenant()
    job_id = UUID((await create(client, keys, tenant))["id"])
    token = keys.token(tenant, sub="alice", expires_in=600)
    fetches: list[str] = []
    job_url = re.compile(rf"/jobs/{job_id}$")

    def count(request: Request) -> None:
        if request.method == "GET" and job_url.search(request.url):
            fetches.append(request.url)

    context = await browser.new_context()
    await context.add_init_script(f"localStorage.setItem('bdg.token', {token!r})")
    page = await context.new_page()
    page.on("request", count)
    await page.goto(f"{live_url.replace('ws://', 'http://')}/app/jobs/{job_id}")
    cost, state = page.get_by_test_id("job-cost"), page.get_by_test_id("job-state")
    await expect(cost).to_have_text("$0.0000")
    # Paused, as the page shows after fetching the job: every fetch so far has been made.
    await stack.decide(job_id, lambda j, c: j.pause(c, "lunch"))
    await expect(state).to_have_text("paused")
    before = len(fetches)

    total = 0.0
    for n, spent in enumerate(COSTS):
        total += spent
        await stack.decide(job_id, lambda j, c, n=n, s=spent: _paid(j, c, n, s))
        await expect(cost).to_have_text(f"${total:.4f}")

    # The resume's frame shows "planning" before the page fetches the job: wait for the
    # fetch itself (`count`, registered first, has seen it when this wait ends).
    async with page.expect_request(lambda r: r.method == "GET" and bool(job_url.search(r.url))):
        await stack.decide(job_id, lambda j, c: j.resume(c))
    await expect(state).to_have_text("planning")
    # One fetch, for the resume: none for the model calls (a fetch per frame would be 4).
    assert len(fetches) == before + 1, fetches
    await expect(cost).to_have_text(f"${total:.4f}")  # the fetched job agrees


def _paid(job: Job, cause: Cause, n: int, cost: float) -> None:
    job.record_llm_call(
        cause,
        role="planner",
        model="gpt-4o",
        request_hash=f"r{n}",
        response="draft",
        prompt_tokens=100,
        completion_tokens=20,
        cost_usd=cost,
    )
