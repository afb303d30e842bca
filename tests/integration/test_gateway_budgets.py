"""Budget caps through the gateway: a tenant admin sets them, bad caps are 422 with nothing
written, and raising a cap resumes the tenant's jobs suspended for budget."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
import pytest

from bdg_contracts import events as ev
from bdg_contracts.states import JobState
from bdg_jobs.ledger.accounts import Spender, month_of
from bdg_jobs.ledger.ledger import PostgresLedger, SettledCall
from tests.gateway_stack import Keys, Stack, new_tenant
from tests.integration.gateway_calls import create

pytestmark = pytest.mark.timeout(60)
ADMIN = {"roles": ["admin"]}


async def caps_written(stack: Stack) -> int:
    async with stack.queries.pool.connection() as conn:
        row = await (await conn.execute("SELECT count(*) FROM bdg_budget_caps")).fetchone()
    assert row is not None
    return int(row[0])


async def test_an_admin_sets_the_tenant_and_a_user_cap(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    tenant = new_tenant()
    admin = keys.headers(tenant, **ADMIN)
    put = await client.put("/budgets/tenant", json={"cap_usd": 12.5}, headers=admin)
    assert put.status_code == 200, put.text
    assert (put.json()["scope"], put.json()["cap_usd"]) == ("tenant", 12.5)
    bob = await client.put("/budgets/users/bob", json={"cap_usd": 2}, headers=admin)
    assert bob.status_code == 200, bob.text
    seen = await client.get("/budgets", headers=keys.headers(tenant, sub="bob"))
    assert seen.status_code == 200, seen.text
    assert (seen.json()["tenant"]["cap_usd"], seen.json()["user"]["cap_usd"]) == (12.5, 2.0)
    assert seen.json()["user"]["spent_usd"] == 0.0
    # Another tenant sees none of it.
    other = await client.get("/budgets", headers=keys.headers(new_tenant(), sub="bob"))
    assert (other.json()["tenant"]["cap_usd"], other.json()["user"]["cap_usd"]) == (None, None)


async def test_a_user_who_is_not_admin_is_refused(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    for path in ("/budgets/tenant", "/budgets/users/alice"):
        refused = await client.put(path, json={"cap_usd": 99}, headers=keys.headers(tenant))
        assert refused.status_code == 403, refused.text
        assert "admin" in refused.json()["detail"]
    assert await caps_written(stack) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"cap_usd": -1},
        {"cap_usd": "ten"},
        {"cap_usd": None},
        {},
        {"cap_usd": 5, "currency": "EUR"},
        {"cap_usd": 10_000_000},
    ],
)
async def test_a_bad_cap_is_422_naming_the_field_and_writes_nothing(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, body: dict[str, Any]
) -> None:
    headers = keys.headers(new_tenant(), **ADMIN)
    response = await client.put("/budgets/tenant", json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("body."), response.json()
    assert await caps_written(stack) == 0


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
async def test_a_non_finite_cap_is_422_and_writes_nothing(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, literal: str
) -> None:
    headers = {**keys.headers(new_tenant(), **ADMIN), "content-type": "application/json"}
    body = '{"cap_usd": ' + literal + "}"
    response = await client.put("/budgets/tenant", content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert await caps_written(stack) == 0


async def test_raising_the_tenant_cap_resumes_its_suspended_jobs(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    job_id = (await create(client, keys, tenant))["id"]
    await stack.decide(
        UUID(job_id), lambda j, c: j.exceed_budget(c, 1.0, 1.0, f"job:{tenant}:{job_id}", "")
    )
    stack.project()
    put = await client.put(
        "/budgets/tenant", json={"cap_usd": 5}, headers=keys.headers(tenant, **ADMIN)
    )
    assert put.status_code == 200, put.text
    job = await client.get(f"/jobs/{job_id}", headers=keys.headers(tenant))
    assert job.json()["state"] == "planning"


async def test_the_job_budget_route_sets_the_job_cap_in_the_ledger(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    job_id = (await create(client, keys, tenant))["id"]
    await stack.decide(
        UUID(job_id), lambda j, c: j.exceed_budget(c, 1.0, 1.0, f"job:{tenant}:{job_id}", "")
    )
    raised = await client.post(
        f"/jobs/{job_id}/budget", json={"limit_usd": 3.5}, headers=keys.headers(tenant)
    )
    assert raised.status_code == 200, raised.text
    async with stack.queries.pool.connection() as conn:
        cur = await conn.execute("SELECT key, cap_usd FROM bdg_budget_caps")
        assert await cur.fetchall() == [(f"job:{tenant}:{job_id}", pytest.approx(3.5))]


async def test_a_cap_below_the_spend_suspends_at_once_and_a_raise_resumes(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    job_id = (await create(client, keys, tenant))["id"]
    other = (await create(client, keys, new_tenant()))["id"]  # another tenant's: untouched
    ledger = PostgresLedger(stack.queries.pool)
    held = await ledger.reserve(Spender(tenant, "alice", job_id), Decimal("0.50"))
    await ledger.settle(held, SettledCall("plan", "gpt-4o", 10, 10, Decimal("0.50")))
    stack.project()
    admin = keys.headers(tenant, **ADMIN)

    lowered = await client.put("/budgets/tenant", json={"cap_usd": 0.4}, headers=admin)
    assert lowered.status_code == 200, lowered.text
    assert (await stack.job(UUID(job_id))).state == JobState.suspended_budget
    assert (await stack.job(UUID(other))).state == JobState.planning
    (exceeded,) = [
        e for e in await stack.app.history(UUID(job_id)) if isinstance(e, ev.BudgetExceeded)
    ]
    assert (exceeded.cap_key, exceeded.period) == (f"tenant:{tenant}", month_of(datetime.now(UTC)))

    stack.project()
    raised = await client.put("/budgets/tenant", json={"cap_usd": 2}, headers=admin)
    assert raised.status_code == 200, raised.text
    assert (await stack.job(UUID(job_id))).state == JobState.planning
