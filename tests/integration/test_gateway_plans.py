"""Plan management through the gateway: versions, diffs, edits, tenant isolation."""

from __future__ import annotations

from uuid import UUID

import httpx
import pytest

from bdg_jobs.domain import Cause, Job
from tests.gateway_stack import Keys, Stack, new_tenant
from tests.integration.gateway_calls import create

pytestmark = pytest.mark.timeout(60)
FIRST = "# Plan\n- [ ] add the route\n- [ ] test it\n"
EDITED = "# Plan\n- [ ] add the route\n- [ ] test it\n- [ ] document it\n"


def plan_ready(job: Job, cause: Cause) -> None:
    job.make_plan_ready(cause, FIRST)


async def test_edits_make_versions_with_history_and_diff(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    job_id = (await create(client, keys, tenant))["id"]
    await stack.decide(UUID(job_id), plan_ready)
    edited = await client.post(
        f"/jobs/{job_id}/plan", json={"plan_markdown": EDITED}, headers=keys.headers(tenant)
    )
    assert edited.status_code == 200, edited.text
    history = (await client.get(f"/jobs/{job_id}/plan", headers=keys.headers(tenant))).json()
    assert history["current"] == EDITED
    assert [(v["number"], v["author"]) for v in history["versions"]] == [
        (1, "test-service"),
        (2, "user:alice"),
    ]
    diff = await client.get(
        f"/jobs/{job_id}/plan/diff", params={"from": 1, "to": 2}, headers=keys.headers(tenant)
    )
    assert diff.status_code == 200
    assert "+- [ ] document it" in diff.text
    assert "plan v1" in diff.text
    approved = await client.post(f"/jobs/{job_id}/plan/approve", headers=keys.headers(tenant))
    assert approved.json()["state"] == "coding"
    assert approved.json()["plan_markdown"] == EDITED


def drafts_then_ready(job: Job, cause: Cause) -> None:
    job.draft_plan(cause, "# Plan\n- [ ] add the route\n", 1)
    job.critique_plan(cause, 1, 4)
    job.draft_plan(cause, FIRST, 2)
    job.critique_plan(cause, 2, 9)
    job.make_plan_ready(cause, FIRST)


async def test_the_planners_drafts_are_versions_and_diff_across_them(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    job_id = (await create(client, keys, tenant))["id"]
    await stack.decide(UUID(job_id), drafts_then_ready)
    history = (await client.get(f"/jobs/{job_id}/plan", headers=keys.headers(tenant))).json()
    assert [(v["number"], v["kind"]) for v in history["versions"]] == [
        (1, "draft"),
        (2, "draft"),
        (3, "ready"),
    ]
    assert history["current"] == FIRST
    diff = await client.get(
        f"/jobs/{job_id}/plan/diff", params={"from": 1, "to": 2}, headers=keys.headers(tenant)
    )
    assert diff.status_code == 200, diff.text
    assert "+- [ ] test it" in diff.text


async def test_unknown_versions_and_other_tenants_are_404(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    job_id = (await create(client, keys, tenant))["id"]
    await stack.decide(UUID(job_id), plan_ready)
    missing = await client.get(
        f"/jobs/{job_id}/plan/diff", params={"from": 1, "to": 3}, headers=keys.headers(tenant)
    )
    assert missing.status_code == 404
    assert "no plan version 3" in missing.json()["detail"]
    other = await client.get(f"/jobs/{job_id}/plan", headers=keys.headers(new_tenant()))
    assert other.status_code == 404


async def test_an_edit_outside_plan_approval_is_409_and_writes_nothing(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    job_id = (await create(client, keys, tenant))["id"]
    before = stack.event_count()
    edited = await client.post(
        f"/jobs/{job_id}/plan", json={"plan_markdown": EDITED}, headers=keys.headers(tenant)
    )
    assert edited.status_code == 409
    assert stack.event_count() == before
