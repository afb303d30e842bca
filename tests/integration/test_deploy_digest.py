"""Issue 14 item 3: a deploy approval names the digest the approver reviewed. The job shows the
digest asked for; another digest is a 409 naming both and approves nothing (so the deployer,
which publishes only after a DeployApproved, publishes nothing). A client from before digests
(no digest) approves the one asked for, and the approval records it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from uuid import UUID

import httpx
import pytest

from bdg_contracts import events as ev
from bdg_jobs.domain import Cause, Job
from tests.gateway_stack import Keys, Stack, new_tenant
from tests.integration.gateway_calls import create, plan_ready

pytestmark = pytest.mark.timeout(60)
SHOWN = "sha256:" + hashlib.sha256(b"base+patches+manifest").hexdigest()
OTHER = "sha256:" + hashlib.sha256(b"something else").hexdigest()


def awaiting(digest: str) -> Callable[[Job, Cause], None]:
    def decide(job: Job, cause: Cause) -> None:
        job.finish_coding(cause, "done")
        job.pass_tests(cause, ev.TestResults(total=3))
        job.complete_review(cause, approved=True, score=9, notes="fine")
        job.await_deploy_approval(cause, "site production", "1 patch", digest)

    return decide


async def job_awaiting(client: httpx.AsyncClient, keys: Keys, stack: Stack, tenant: str) -> str:
    job_id: str = (await create(client, keys, tenant, plan_approval="auto"))["id"]
    await stack.decide(UUID(job_id), plan_ready)
    await stack.decide(UUID(job_id), awaiting(SHOWN))
    return job_id


async def test_the_job_shows_the_digest_and_the_same_digest_approves(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    job_id = await job_awaiting(client, keys, stack, tenant)
    shown = await client.get(f"/jobs/{job_id}", headers=keys.headers(tenant))
    assert shown.json()["deploy_digest"] == SHOWN
    approved = await client.post(
        f"/jobs/{job_id}/deploy/approve", json={"digest": SHOWN}, headers=keys.headers(tenant)
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "deploying"
    last = (await stack.job(UUID(job_id))).version
    [event] = stack.store.history(UUID(job_id), after=last - 1)
    assert isinstance(event, ev.DeployApproved)
    assert event.digest == SHOWN


async def test_another_digest_is_409_naming_both_and_approves_nothing(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    job_id = await job_awaiting(client, keys, stack, tenant)
    before = stack.event_count()
    refused = await client.post(
        f"/jobs/{job_id}/deploy/approve", json={"digest": OTHER}, headers=keys.headers(tenant)
    )
    assert refused.status_code == 409, refused.text
    assert SHOWN in refused.json()["detail"]
    assert OTHER in refused.json()["detail"]
    assert stack.event_count() == before
    assert (await stack.job(UUID(job_id))).state.value == "awaiting_deploy_approval"


@pytest.mark.parametrize("digest", ["sha256:abc", "md5:" + "0" * 64, SHOWN.upper(), SHOWN + "\0"])
async def test_a_malformed_digest_is_422_naming_the_field(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, digest: str
) -> None:
    tenant = new_tenant()
    job_id = await job_awaiting(client, keys, stack, tenant)
    before = stack.event_count()
    refused = await client.post(
        f"/jobs/{job_id}/deploy/approve", json={"digest": digest}, headers=keys.headers(tenant)
    )
    assert refused.status_code == 422, refused.text
    assert "body.digest" in refused.json()["detail"]
    assert stack.event_count() == before


@pytest.mark.parametrize("body", [None, {}], ids=["no-body", "empty"])
async def test_an_old_client_without_a_digest_approves_the_one_asked_for(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, body: dict[str, str] | None
) -> None:
    tenant = new_tenant()
    job_id = await job_awaiting(client, keys, stack, tenant)
    approved = await client.post(
        f"/jobs/{job_id}/deploy/approve", json=body, headers=keys.headers(tenant)
    )
    assert approved.status_code == 200, approved.text
    [event] = stack.store.history(UUID(job_id), after=approved.json()["version"] - 1)
    assert isinstance(event, ev.DeployApproved)
    assert event.digest == SHOWN


async def test_a_job_asked_before_digests_is_approved_without_one(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    job_id: str = (await create(client, keys, tenant, plan_approval="auto"))["id"]
    await stack.decide(UUID(job_id), plan_ready)
    await stack.decide(UUID(job_id), awaiting(""))
    approved = await client.post(f"/jobs/{job_id}/deploy/approve", headers=keys.headers(tenant))
    assert approved.status_code == 200, approved.text
    assert approved.json()["deploy_digest"] is None
