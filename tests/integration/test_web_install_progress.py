"""An install's progress in the job's timeline, in Debian's Chromium against the gateway (uvicorn
on real PostgreSQL and NATS): the tester's reports, published on the job's progress subject as
the tester sends them, show as "Installing dependencies…" with the install's time and output
lines; once the install has finished the indicator is the test step's again."""

from __future__ import annotations

import asyncio
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from playwright.async_api import Browser, expect

from bdg_contracts import subjects
from bdg_contracts.progress import InstallProgress, InstallState
from bdg_jobs.domain import Cause, Job
from tests.gateway_stack import Keys, Stack, new_tenant
from tests.integration.gateway_calls import create
from tests.integration.web_pages import PLAN, window

pytestmark = pytest.mark.timeout(120)


def coded(job: Job, cause: Cause) -> None:
    job.make_plan_ready(cause, PLAN)
    job.approve_plan(cause, "alice")
    job.finish_coding(cause, "nothing to change")


async def test_the_timeline_shows_the_install_while_the_tester_reports_it(
    client: httpx.AsyncClient,
    keys: Keys,
    stack: Stack,
    live_url: str,
    browser: Browser,
    artifacts: Path,
) -> None:
    tenant = new_tenant()
    job = UUID((await create(client, keys, tenant))["id"])
    await stack.decide(job, coded)
    context = await window(browser, keys.token(tenant, sub="alice", expires_in=600))
    page = await context.new_page()
    await page.goto(f"{live_url.replace('ws://', 'http://')}/app/jobs/{job}")
    indicator = page.get_by_test_id("progress")
    await expect(indicator).to_contain_text("Tests running for attempt 1")

    async def report(state: InstallState, lines: int) -> None:
        sent = InstallProgress(
            tenant_id=tenant,
            job_id=job,
            attempt=1,
            project=".",
            state=state,
            elapsed_s=65,
            output_lines=lines,
        )
        await stack.nc.publish(subjects.job_progress(tenant, job), sent.model_dump_json().encode())

    installing = asyncio.create_task(
        expect(indicator).to_contain_text("Installing dependencies for attempt 1…", timeout=30_000)
    )
    while not installing.done():  # as the tester does: a report every few seconds
        await report(InstallState.running, 1234)
        await asyncio.wait({installing}, timeout=0.5)
    installing.result()
    await expect(indicator).to_contain_text("· for 1 min 0")
    await expect(indicator).to_contain_text("· 1,234 lines of output")
    await page.screenshot(path=artifacts / "installing.png")

    await report(InstallState.finished, 1300)
    await expect(indicator).to_contain_text("Tests running for attempt 1")
    await expect(indicator).not_to_contain_text("lines of output")
    await context.close()
