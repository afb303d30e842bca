"""A model client that pays through the budget ledger: reserve, call, settle (or release).

A handler working on a job opens ``paying(spender)``; every call made inside it is metered.
Calls outside (no job to charge) go straight through. The reservation is the call's worst case
(``bdg_llm.worst_case``), so settled spend never passes a cap; a call refused raises
``BudgetExhaustedError`` before anything is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from psycopg_pool import AsyncConnectionPool

from bdg_jobs.ledger.accounts import Spender
from bdg_jobs.ledger.leased import LeasedLedger
from bdg_jobs.ledger.ledger import PostgresLedger, SettledCall, usd
from bdg_llm.api import ChatRequest, ChatResult, LlmClient, M, OnDelta
from bdg_llm.job_models import model_chosen_for
from bdg_llm.schema import structured_request, validate_answer
from bdg_llm.settings import LlmSettings
from bdg_llm.worst_case import worst_case_cost
from bdg_runtime.at_stop import at_stop

_payer: ContextVar[Spender | None] = ContextVar("llm_payer", default=None)

# What GET /costs calls each kind of call (embeddings: ``metered_embeddings``).
# The tester and the deployer make no model calls today; theirs would be "test analysis" and
# "deploy".
OPERATIONS = {"planner": "plan", "critic": "critique", "coder": "code", "reviewer": "review"}


def current_payer() -> Spender | None:
    """Who the calls made here are charged to (None: not metered)."""
    return _payer.get()


@contextmanager
def paying(spender: Spender) -> Iterator[None]:
    token = _payer.set(spender)
    try:
        yield
    finally:
        _payer.reset(token)


class MeteredLlm:
    def __init__(
        self, inner: LlmClient, ledger: PostgresLedger | LeasedLedger, settings: LlmSettings
    ) -> None:
        self.inner, self.ledger, self.settings = inner, ledger, settings
        self.prices = settings.price_table()
        self._opening = asyncio.Lock()

    async def chat(self, request: ChatRequest, on_delta: OnDelta | None = None) -> ChatResult:
        spender = _payer.get()
        if spender is None:
            return await self.inner.chat(request, on_delta)
        model = model_chosen_for(request.role) or self.settings.model_for(request.role)
        worst = worst_case_cost(self.prices, model, request, self.settings.bdg_llm_context_tokens)
        async with self._opening:  # opened on first use: no connection at start-up
            await self.ledger.pool.open()
        reservation = await self.ledger.reserve(spender, worst)
        try:
            result = await self.inner.chat(request, on_delta)
        except BaseException:
            # Not paid: give it back, even when this task is being cancelled.
            await asyncio.shield(self.ledger.release(reservation))
            raise
        call = SettledCall(
            OPERATIONS.get(request.role, request.role),
            result.model,
            result.prompt_tokens,
            result.completion_tokens,
            usd(result.cost_usd),
            result.tokens_counted,
        )
        await asyncio.shield(self.ledger.settle(reservation, call))
        return result

    async def structured(self, request: ChatRequest, answer: type[M]) -> tuple[M, ChatResult]:
        # Through our own chat, so an answer that fails validation is paid for all the same.
        result = await self.chat(structured_request(request, answer))
        return validate_answer(result, answer), result


def metered(client: LlmClient, database_url: str | None, settings: LlmSettings) -> LlmClient:
    """The service's client, paying through the ledger in ``database_url`` (none: unmetered)."""
    if database_url is None:
        return client
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        database_url, min_size=1, max_size=4, open=False, kwargs={"autocommit": True}
    )
    if not settings.bdg_budget_leases:
        return MeteredLlm(client, PostgresLedger(pool), settings)
    leased = LeasedLedger(pool)

    async def give_back() -> None:  # the unspent shares now, not when the leases expire
        await leased.close()
        await pool.close()

    at_stop("the budget leases", give_back)
    return MeteredLlm(client, leased, settings)
