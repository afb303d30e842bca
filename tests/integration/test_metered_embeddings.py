"""Embedding calls paid through the ledger: the real SDK and embedder against the priced fake
OpenAI endpoint (its documented /v1/embeddings), real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from openai import AsyncOpenAI
from psycopg_pool import AsyncConnectionPool

from bdg_jobs.ledger.accounts import Scope
from bdg_jobs.ledger.caps import BudgetCaps
from bdg_jobs.ledger.errors import BudgetExhaustedError
from bdg_jobs.ledger.ledger import PostgresLedger
from bdg_llm.embeddings import OpenAiEmbedder
from bdg_llm.prices import Price, PriceTable
from bdg_llm.tokens import count_text
from bdg_runtime.metered_embeddings import MeteredEmbedder, index_payer
from bdg_runtime.metered_llm import paying
from tests.fakes.openai_server import FakeOpenAi

pytestmark = pytest.mark.timeout(30)

# $0.02 a token: big enough to reach a small cap in a few calls.
PRICES = PriceTable({"text-embedding-3-small": Price(20_000.0, 0.0)})
TEXTS = ["def add(a, b):\n    return a + b", "class Ledger:\n    pass"]


@pytest.fixture
async def embedder(
    fake: FakeOpenAi, pool: AsyncConnectionPool[Any]
) -> AsyncIterator[MeteredEmbedder]:
    async with AsyncOpenAI(base_url=fake.base_url, api_key="sk-test", max_retries=0) as sdk:
        yield MeteredEmbedder(OpenAiEmbedder(sdk, max_retries=0), PostgresLedger(pool), PRICES)


async def calls(pool: AsyncConnectionPool[Any]) -> list[tuple[Any, ...]]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT tenant, user_id, job_id, operation, model, prompt_tokens, cost_usd"
            " FROM bdg_budget_calls"
        )
        return await cur.fetchall()


async def test_an_embedding_batch_is_settled_as_operation_embeddings(
    embedder: MeteredEmbedder, fake: FakeOpenAi, pool: AsyncConnectionPool[Any]
) -> None:
    repo = uuid4()
    with paying(index_payer("acme", "ann", repo)):
        vectors = await embedder.embed(TEXTS)
    assert len(vectors) == 2
    tokens = sum(count_text(t) for t in TEXTS)
    assert await calls(pool) == [
        (
            "acme",
            "ann",
            f"index:{repo}",
            "embeddings",
            "text-embedding-3-small",
            tokens,
            Decimal("0.02") * tokens,
        )
    ]
    usage = await BudgetCaps(pool).usage(
        Scope.tenant, "acme", "", PostgresLedger(pool).clock().strftime("%Y-%m")
    )
    assert (usage.spent_usd, usage.reserved_usd) == (Decimal("0.02") * tokens, Decimal(0))


async def test_embeddings_past_the_cap_are_refused_before_anything_is_sent(
    embedder: MeteredEmbedder, fake: FakeOpenAi, pool: AsyncConnectionPool[Any]
) -> None:
    await BudgetCaps(pool).set_cap(Scope.tenant, "acme", "", Decimal("0.05"))
    with paying(index_payer("acme", "ann", uuid4())), pytest.raises(BudgetExhaustedError):
        await embedder.embed(TEXTS)
    assert fake.embedding_requests == []
    assert await calls(pool) == []


async def test_embeddings_with_no_payer_go_straight_through(
    embedder: MeteredEmbedder, fake: FakeOpenAi, pool: AsyncConnectionPool[Any]
) -> None:
    await embedder.embed(TEXTS)  # a search query: no job and no index run to charge
    assert len(fake.embedding_requests) == 1
    assert await calls(pool) == []
