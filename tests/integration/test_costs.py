"""Costs by operation, user and day: GET /costs and `bdg cost`, from the ledger's settled calls."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from psycopg_pool import AsyncConnectionPool

from bdg_contracts import commands as cmd
from bdg_jobs.ledger.accounts import Spender
from bdg_jobs.ledger.ledger import PostgresLedger, SettledCall
from bdg_jobs.user_commands import Caller
from tests.gateway_stack import Keys, Stack, new_tenant
from tests.integration.test_cli import Bdg, bdg  # noqa: F401  (fixture)

pytestmark = pytest.mark.timeout(60)
CALLS = [  # user, operation, cost
    ("ann", "plan", "0.010"),
    ("ann", "critique", "0.002"),
    ("bob", "plan", "0.030"),
    ("bob", "code", "0.100"),
    ("bob", "code", "0.050"),
]


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    p: AsyncConnectionPool[Any] = AsyncConnectionPool(
        database_url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True}
    )
    await p.open()
    yield p
    await p.close()


async def settle_calls(pool: AsyncConnectionPool[Any], tenant: str) -> None:
    ledger = PostgresLedger(pool)
    for user, operation, cost in CALLS:
        held = await ledger.reserve(Spender(tenant, user, f"job-{user}"), Decimal(cost))
        await ledger.settle(held, SettledCall(operation, "gpt-4o", 100, 10, Decimal(cost)))


async def test_costs_by_operation_user_and_day(
    client: httpx.AsyncClient, keys: Keys, pool: AsyncConnectionPool[Any]
) -> None:
    tenant = new_tenant()
    await settle_calls(pool, tenant)
    await settle_calls(pool, new_tenant())  # another tenant's: never counted
    auth = keys.headers(tenant)

    by_op = (await client.get("/costs", params={"group_by": "operation"}, headers=auth)).json()
    assert [(r["key"], r["calls"], r["cost_usd"]) for r in by_op["rows"]] == [
        ("code", 2, 0.15),
        ("critique", 1, 0.002),
        ("plan", 2, 0.04),
    ]
    assert by_op["total_usd"] == pytest.approx(0.192)
    by_user = (await client.get("/costs", params={"group_by": "user"}, headers=auth)).json()
    assert [(r["key"], r["cost_usd"]) for r in by_user["rows"]] == [("ann", 0.012), ("bob", 0.18)]

    today = datetime.now(UTC).date()
    by_day = await client.get(
        "/costs", params={"group_by": "day", "from": str(today), "to": str(today)}, headers=auth
    )
    assert [(r["key"], r["calls"]) for r in by_day.json()["rows"]] == [(str(today), 5)]
    by_job = (await client.get("/costs", params={"group_by": "job"}, headers=auth)).json()
    assert [(r["key"], r["calls"]) for r in by_job["rows"]] == [("job-ann", 2), ("job-bob", 3)]
    tomorrow = str(today + timedelta(days=1))
    later = await client.get("/costs", params={"from": tomorrow}, headers=auth)
    assert later.json()["rows"] == []


async def test_costs_of_one_job_by_operation_and_another_tenants_job_is_404(
    client: httpx.AsyncClient, keys: Keys, pool: AsyncConnectionPool[Any], stack: Stack
) -> None:
    tenant, other = new_tenant(), new_tenant()
    mine = await stack.commands.create(Caller(tenant, "ann"), cmd.RequestJob(goal="g"))
    theirs = await stack.commands.create(Caller(other, "ann"), cmd.RequestJob(goal="g"))
    ledger = PostgresLedger(pool)
    for job, operation, cost in (
        (mine, "plan", "0.01"),
        (mine, "code", "0.02"),
        (mine, "code", "0.03"),
        (theirs, "code", "0.5"),
    ):
        held = await ledger.reserve(Spender(job.tenant_id, "ann", str(job.job_id)), Decimal(cost))
        await ledger.settle(held, SettledCall(operation, "gpt-4o", 1, 1, Decimal(cost)))
    shown = await client.get(
        "/costs", params={"job": str(mine.job_id)}, headers=keys.headers(tenant)
    )
    assert [(r["key"], r["cost_usd"]) for r in shown.json()["rows"]] == [
        ("code", 0.05),
        ("plan", 0.01),
    ]
    hidden = await client.get(
        "/costs", params={"job": str(theirs.job_id)}, headers=keys.headers(tenant)
    )
    assert hidden.status_code == 404, hidden.text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"group_by": "colour"}, "query.group_by"),
        ({"from": "yesterday"}, "query.from"),
        ({"to": "2026-02-30"}, "query.to"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "query.from"),
        ({"job": "../etc"}, "query.job"),
    ],
)
async def test_bad_cost_queries_are_422_naming_the_field(
    client: httpx.AsyncClient, keys: Keys, params: dict[str, str], field: str
) -> None:
    response = await client.get("/costs", params=params, headers=keys.headers(new_tenant()))
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(field), response.json()


async def test_bdg_cost_prints_a_table_and_json(
    bdg: Bdg,  # noqa: F811
    pool: AsyncConnectionPool[Any],
) -> None:
    await settle_calls(pool, "acme")  # BDG_TENANT of the fixture
    shown = (await bdg("cost", "--by", "user")).stdout
    assert "cost by user" in shown
    assert "ann" in shown
    assert "0.180000" in shown
    assert "0.192000" in shown  # the total
    rows = json.loads((await bdg("cost", "--json")).stdout)
    assert [(r["key"], r["calls"]) for r in rows] == [("code", 2), ("critique", 1), ("plan", 2)]
    by_job = json.loads((await bdg("cost", "--by", "job", "--json")).stdout)
    assert [(r["key"], r["calls"]) for r in by_job] == [("job-ann", 2), ("job-bob", 3)]
    one_job = json.loads((await bdg("cost", "--job", "job-bob", "--json")).stdout)
    assert [(r["key"], r["calls"]) for r in one_job] == [("code", 2), ("plan", 1)]
    refused = await bdg("cost", "--from", "tomorrow", code=2)
    assert "--from" in refused.output
