"""Model calls paid through the ledger: the real SDK against a priced fake endpoint, real
PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from bdg_contracts.events import LlmCalled
from bdg_jobs.ledger.accounts import Scope, Spender
from bdg_jobs.ledger.caps import BudgetCaps
from bdg_jobs.ledger.costs import GroupBy, costs
from bdg_jobs.ledger.errors import BudgetExhaustedError
from bdg_jobs.ledger.leased import LeasedLedger
from bdg_jobs.ledger.ledger import PostgresLedger
from bdg_llm.api import ChatRequest, LlmRejectedError, Message
from bdg_llm.llm_called_fields import fields_for_event
from bdg_llm.openai_client import OpenAiClient
from bdg_llm.settings import LlmSettings
from bdg_runtime.at_stop import run_at_stop
from bdg_runtime.metered_llm import MeteredLlm, paying
from bdg_runtime.metered_llm import metered as metered_client
from tests.fakes.openai_server import Failure, FakeOpenAi, Reply
from tests.unit.jobs import CAUSE, new_job

pytestmark = pytest.mark.timeout(30)

ASK = ChatRequest(
    "planner", (Message("system", "You plan."), Message("user", "Plan a CLI.")), max_tokens=1000
)
TENANT = "acme"


@pytest.fixture
async def metered(fake: FakeOpenAi, pool: AsyncConnectionPool[Any]) -> AsyncIterator[MeteredLlm]:
    settings = LlmSettings(
        openai_base_url=fake.base_url,
        openai_api_key="sk-test",
        bdg_model_planner="gpt-4o",
        bdg_llm_max_retries=0,
    )
    inner = OpenAiClient(settings)
    yield MeteredLlm(inner, PostgresLedger(pool), settings)
    await inner.close()


async def one(pool: AsyncConnectionPool[Any], query: str, *args: Any) -> Any:
    async with pool.connection() as conn:
        row = await (await conn.execute(query, args)).fetchone()
    assert row is not None
    return row[0]


async def tenant_usage(pool: AsyncConnectionPool[Any]) -> tuple[Decimal, Decimal]:
    usage = await BudgetCaps(pool).usage(
        Scope.tenant, TENANT, "", PostgresLedger(pool).clock().strftime("%Y-%m")
    )
    return usage.spent_usd, usage.reserved_usd


async def test_a_call_settles_what_its_llm_called_event_records(
    fake: FakeOpenAi, metered: MeteredLlm, pool: AsyncConnectionPool[Any]
) -> None:
    fake.push(Reply("a plan", prompt_tokens=1200, completion_tokens=300))
    fake.push(Reply("a second plan", prompt_tokens=800, completion_tokens=90))
    with paying(Spender(TENANT, "ann", "job-1")):
        results = [await metered.chat(ASK), await metered.chat(ASK)]
    job = new_job()
    for result in results:
        job.record_llm_call(CAUSE, **fields_for_event(result, "planner"))
    events = [e for e in job.collect() if isinstance(e, LlmCalled)]
    recorded = sum(Decimal(repr(e.cost_usd)) for e in events)
    assert recorded > 0  # gpt-4o is priced
    assert await tenant_usage(pool) == (recorded, Decimal(0))
    by_operation = await one(
        pool, "SELECT sum(cost_usd) FROM bdg_budget_calls WHERE operation = 'plan'"
    )
    assert by_operation == recorded
    assert await one(pool, "SELECT count(*) FROM bdg_budget_reservations") == 0


async def test_a_call_with_no_usage_is_costed_from_counted_tokens_and_flagged(
    fake: FakeOpenAi, metered: MeteredLlm, pool: AsyncConnectionPool[Any]
) -> None:
    fake.push(Reply("a plan", prompt_tokens=10, completion_tokens=2))
    fake.push(Reply("hello world", usage=False))
    with paying(Spender(TENANT, "ann", "job-3")):
        reported, counted = await metered.chat(ASK), await metered.chat(ASK)
    assert not reported.tokens_counted
    assert counted.tokens_counted
    assert counted.completion_tokens == 2  # "hello world", counted with cl100k_base
    assert counted.cost_usd > 0
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT prompt_tokens, completion_tokens, cost_usd, tokens_counted"
            " FROM bdg_budget_calls ORDER BY settled_at, tokens_counted"
        )
        rows = await cur.fetchall()
    assert rows == [
        (10, 2, Decimal(repr(reported.cost_usd)), False),
        (counted.prompt_tokens, 2, Decimal(repr(counted.cost_usd)), True),
    ]
    async with pool.connection() as conn:
        (row,) = await costs(conn, TENANT, GroupBy.operation)
    assert (row.calls, row.counted_calls) == (2, 1)


async def test_a_failed_call_releases_its_reservation(
    fake: FakeOpenAi, metered: MeteredLlm, pool: AsyncConnectionPool[Any]
) -> None:
    fake.push(Failure(400, "bad request", "invalid_request_error"))
    with paying(Spender(TENANT, "ann", "job-2")), pytest.raises(LlmRejectedError):
        await metered.chat(ASK)
    assert await tenant_usage(pool) == (Decimal(0), Decimal(0))
    assert await one(pool, "SELECT count(*) FROM bdg_budget_reservations") == 0


async def test_a_call_past_the_cap_is_refused_before_it_is_sent(
    fake: FakeOpenAi, metered: MeteredLlm, pool: AsyncConnectionPool[Any]
) -> None:
    # The worst case of ASK on gpt-4o: ~30 prompt tokens + 1000 answer tokens, about $0.01.
    await BudgetCaps(pool).set_cap(Scope.user, TENANT, "ann", Decimal("0.005"))
    fake.push(Reply("never asked for"))
    with paying(Spender(TENANT, "ann", "job-3")), pytest.raises(BudgetExhaustedError) as refused:
        await metered.chat(ASK)
    assert f"user:{TENANT}:ann" in str(refused.value)
    assert fake.requests == []
    assert await tenant_usage(pool) == (Decimal(0), Decimal(0))


async def test_a_call_with_no_payer_is_not_metered(
    fake: FakeOpenAi, metered: MeteredLlm, pool: AsyncConnectionPool[Any]
) -> None:
    fake.push(Reply("an answer"))
    await metered.chat(ASK)
    assert await one(pool, "SELECT count(*) FROM bdg_budget_accounts") == 0


def leased_settings(fake: FakeOpenAi) -> LlmSettings:
    return LlmSettings(
        openai_base_url=fake.base_url,
        openai_api_key="sk-test",
        bdg_model_planner="gpt-4o",
        bdg_llm_max_retries=0,
        bdg_budget_leases=True,
    )


async def test_with_leases_a_call_is_paid_from_the_lease_and_all_comes_back_on_close(
    fake: FakeOpenAi, pool: AsyncConnectionPool[Any]
) -> None:
    settings = leased_settings(fake)
    inner = OpenAiClient(settings)
    client = metered_client(inner, pool.conninfo, settings)
    assert isinstance(client, MeteredLlm)
    assert isinstance(client.ledger, LeasedLedger)
    fake.push(Reply("a plan", prompt_tokens=1200, completion_tokens=300))
    fake.push(Failure(400, "bad request", "invalid_request_error"))
    try:
        with paying(Spender(TENANT, "ann", "job-4")):
            result = await client.chat(ASK)
            with pytest.raises(LlmRejectedError):
                await client.chat(ASK)
        spent, reserved = await tenant_usage(pool)
        assert spent == Decimal(repr(result.cost_usd))
        assert reserved > 0  # the lease's share, held for the job's next calls
        await client.ledger.close()
        assert await tenant_usage(pool) == (spent, Decimal(0))
        assert await one(pool, "SELECT count(*) FROM bdg_budget_reservations") == 0
    finally:
        await client.ledger.pool.close()
        await inner.close()


async def test_with_leases_the_service_s_stop_gives_the_share_back_before_it_expires(
    fake: FakeOpenAi, pool: AsyncConnectionPool[Any]
) -> None:
    settings = leased_settings(fake)
    inner = OpenAiClient(settings)
    client = metered_client(inner, pool.conninfo, settings)  # registers its give-back
    fake.push(Reply("a plan", prompt_tokens=1200, completion_tokens=300))
    try:
        with paying(Spender(TENANT, "ann", "job-5")):
            result = await client.chat(ASK)
        spent, reserved = await tenant_usage(pool)
        assert reserved > 0  # the lease's share, held for the job's next calls
        assert await run_at_stop(5) == 0  # what a service runs once its handlers are done
        assert await tenant_usage(pool) == (spent, Decimal(0))
        assert spent == Decimal(repr(result.cost_usd))
    finally:
        await inner.close()
