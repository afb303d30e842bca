"""Consents on the real log: given and withdrawn as events, required by a tenant's policy
before a job is accepted (403 naming the purpose, nothing written), reset by an erasure."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bdg_contracts.privacy_events import ConsentPurpose
from bdg_gateway.app import create_app
from bdg_jobs.personal.consents import Consents
from bdg_jobs.tenants import TenantPolicies, TenantPolicy
from bdg_jobs.user_commands import JobCommands
from tests.gateway_stack import Keys, Stack, new_tenant

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(name="tenant")
def tenant_fixture() -> str:
    return new_tenant()


@pytest.fixture(name="client")
async def client_fixture(stack: Stack, keys: Keys, tenant: str) -> AsyncIterator[httpx.AsyncClient]:
    needs = TenantPolicy(consent_required=(ConsentPurpose.model_processing,))
    commands = JobCommands(stack.app, policies=TenantPolicies(tenants={tenant: needs}))
    app = create_app(commands, stack.queries, stack.nc, keys.authenticator())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        yield http


async def test_a_job_needs_the_consent_its_tenant_requires(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, tenant: str
) -> None:
    me = keys.headers(tenant, sub="dora")
    events = stack.event_count()
    refused = await client.post("/jobs", json={"goal": "g"}, headers=me)
    assert refused.status_code == 403, refused.text
    assert refused.json()["purpose"] == "model_processing"
    assert "POST /agent/consent" in refused.json()["detail"]
    assert stack.event_count() == events

    consent = {"purpose": "model_processing", "given": True}
    for _ in range(2):  # the same consent twice is one event
        given = await client.post("/agent/consent", json=consent, headers=me)
        assert given.status_code == 200, given.text
        assert given.json() == {"model_processing": True, "analytics": False}
    assert stack.event_count() == events + 1
    accepted = await client.post("/jobs", json={"goal": "g"}, headers=me)
    assert accepted.status_code == 201, accepted.text

    withdrawn = await client.post("/agent/consent", json={**consent, "given": False}, headers=me)
    assert withdrawn.json()["model_processing"] is False
    again = await client.post("/jobs", json={"goal": "g"}, headers=me)
    assert again.status_code == 403, again.text
    # Another tenant's policy requires nothing.
    elsewhere = keys.headers(new_tenant(), sub="dora")
    free = await client.post("/jobs", json={"goal": "g"}, headers=elsewhere)
    assert free.status_code == 201, free.text


async def test_bad_consents_are_refused_and_an_erasure_resets_them(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, tenant: str
) -> None:
    me = keys.headers(tenant, sub="eli")
    events = stack.event_count()
    for bad in (
        {"purpose": "marketing", "given": True},
        {"purpose": "analytics", "given": "yes please"},
        {"purpose": "analytics", "given": 0},  # schemathesis: 0 was read as False
        {"purpose": "analytics", "given": "true"},
        {"purpose": "analytics"},
        {"purpose": "analytics", "given": True, "extra": 1},
    ):
        refused = await client.post("/agent/consent", json=bad, headers=me)
        assert refused.status_code == 422, (bad, refused.text)
    assert stack.event_count() == events
    given = await client.post(
        "/agent/consent", json={"purpose": "analytics", "given": True}, headers=me
    )
    assert given.json()["analytics"] is True

    erased = await client.post("/agent/data-delete", json={"user": "eli"}, headers=me)
    assert erased.status_code == 200, erased.text
    now = await client.get("/agent/consent", headers=me)
    assert now.json() == {"model_processing": False, "analytics": False}
    assert Consents(stack.store).current(tenant, "eli")[ConsentPurpose.analytics] is False
