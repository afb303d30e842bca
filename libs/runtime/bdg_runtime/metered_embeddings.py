"""An embedder that pays through the budget ledger, as ``MeteredLlm`` does for chat calls.

Inside ``paying(spender)`` every batch is reserved before it is sent and settled after (operation
"embeddings"); outside, it goes straight through. An embedding's cost is its input tokens at the
model's price, known before the call: the tokens are counted with cl100k_base (OpenAI's
text-embedding-3 tokenizer, so exact for those; an estimate for other models), and the same
count is what is settled. A refused batch raises ``BudgetExhaustedError`` before it is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from psycopg_pool import AsyncConnectionPool

from bdg_jobs.ledger.accounts import Spender
from bdg_jobs.ledger.ledger import PostgresLedger, SettledCall, usd
from bdg_llm.embeddings import Embedder
from bdg_llm.prices import PriceTable
from bdg_llm.tokens import count_text
from bdg_runtime.metered_llm import current_payer

OPERATION = "embeddings"


def index_payer(tenant: str, user: str | None, repo_id: UUID) -> Spender:
    """Who pays for indexing a repository: its tenant and the user whose event asked for it;
    the repository's index stands where a job would (its own per-"job" account)."""
    return Spender(tenant, user or "", f"index:{repo_id}")


class MeteredEmbedder:
    def __init__(self, inner: Embedder, ledger: PostgresLedger, prices: PriceTable) -> None:
        self.inner, self.ledger, self.prices = inner, ledger, prices
        self._opening = asyncio.Lock()

    @property
    def model_name(self) -> str:
        return self.inner.model_name

    @property
    def dims(self) -> int:
        return self.inner.dims

    def __getattr__(self, name: str) -> object:
        # window_tokens and the like: what the chunker asks of the model underneath.
        return getattr(self.inner, name)

    async def close(self) -> None:
        await self.ledger.pool.close()

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        spender = current_payer()
        if spender is None:
            return await self.inner.embed(texts)
        tokens = sum(count_text(t) for t in texts)
        cost = usd(self.prices.cost(self.model_name, tokens, 0))
        async with self._opening:  # opened on first use: no connection at start-up
            await self.ledger.pool.open()
        reservation = await self.ledger.reserve(spender, cost)
        try:
            vectors = await self.inner.embed(texts)
        except BaseException:
            await asyncio.shield(self.ledger.release(reservation))
            raise
        # The embedder reports no usage: the count is ours, and flagged as such.
        call = SettledCall(OPERATION, self.model_name, tokens, 0, cost, tokens_counted=True)
        await asyncio.shield(self.ledger.settle(reservation, call))
        return vectors


def metered_embedder(inner: Embedder, database_url: str, prices: PriceTable) -> MeteredEmbedder:
    """The indexer's embedder, paying through the ledger in ``database_url``."""
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        database_url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True}
    )
    return MeteredEmbedder(inner, PostgresLedger(pool), prices)
