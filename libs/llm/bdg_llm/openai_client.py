"""The LlmClient over the ``openai`` SDK: any OpenAI-compatible endpoint, the local one included.

The SDK's own retries are off; ours retry 429/5xx/timeouts/connection failures with backoff and
jitter, honouring ``Retry-After``, then raise LlmUnavailableError. Other 4xx raise
LlmRejectedError at once. A stream that already passed text on is not retried (the text cannot be
taken back). Tokens come from the endpoint's ``usage``, else are counted locally.

With ``BDG_LLM_STREAM`` (set for the offline local server) every answer is streamed, even when
nobody reads the text as it comes: llama.cpp's server stops generating when a stream's client
goes (a cancelled job's call), but finishes a non-streamed answer for nobody, its one slot busy.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, cast

import openai

from bdg_llm import tokens
from bdg_llm.api import (
    ChatRequest,
    ChatResult,
    LlmRejectedError,
    LlmUnavailableError,
    M,
    OnDelta,
)
from bdg_llm.hashing import request_hash
from bdg_llm.job_models import model_chosen_for
from bdg_llm.retries import Backoff, describe, is_transient, retry_after
from bdg_llm.schema import structured_request, validate_answer
from bdg_llm.settings import LlmSettings
from bdg_llm.wire import Answer, params, read_completion, read_stream

Sleep = Callable[[float], Awaitable[None]]


async def _unread(_: str) -> None:
    """A streamed answer's text that nobody reads as it comes (collected all the same)."""


class OpenAiClient:
    def __init__(
        self,
        settings: LlmSettings,
        *,
        sleep: Sleep = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self.prices = settings.price_table()
        self.bounds = settings.answer_bounds()
        self.backoff = Backoff(
            settings.bdg_llm_backoff_seconds, settings.bdg_llm_backoff_max_seconds, jitter
        )
        self._sleep = sleep
        self._sdk = openai.AsyncOpenAI(
            base_url=settings.openai_base_url,
            api_key=settings.api_key(),
            max_retries=0,
            timeout=settings.bdg_llm_timeout_seconds,
        )

    async def close(self) -> None:
        await self._sdk.close()

    async def chat(self, request: ChatRequest, on_delta: OnDelta | None = None) -> ChatResult:
        model = model_chosen_for(request.role) or self.settings.model_for(request.role)
        key = request_hash(model, request)
        answer = await self._with_retries(model, request, on_delta)
        return self._result(model, key, request, answer)

    async def structured(self, request: ChatRequest, answer: type[M]) -> tuple[M, ChatResult]:
        result = await self.chat(structured_request(request, answer))
        return validate_answer(result, answer), result

    async def _with_retries(
        self, model: str, request: ChatRequest, on_delta: OnDelta | None
    ) -> Answer:
        sent = False

        async def forward(text: str) -> None:
            nonlocal sent
            sent = True
            assert on_delta is not None
            await on_delta(text)

        retries = self.settings.bdg_llm_max_retries
        for attempt in range(retries + 1):
            try:
                return await self._once(model, request, forward if on_delta else None)
            except openai.APIError as exc:
                if not is_transient(exc):
                    status = exc.status_code if isinstance(exc, openai.APIStatusError) else 0
                    raise LlmRejectedError(
                        f"{model}: the endpoint refused the request: {describe(exc)}",
                        status,
                        exc.code,
                    ) from exc
                if sent or attempt == retries:
                    why = "the stream broke" if sent else f"gave up after {attempt + 1} attempts"
                    raise LlmUnavailableError(f"{model}: {why}: {describe(exc)}") from exc
                await self._sleep(self.backoff.delay(attempt, retry_after(exc)))
        raise AssertionError("unreachable")

    async def _once(self, model: str, request: ChatRequest, on_delta: OnDelta | None) -> Answer:
        kwargs = self.bounds.apply(params(model, request), request.role)
        create = cast(Callable[..., Awaitable[Any]], self._sdk.chat.completions.create)
        if on_delta is None and not self.settings.bdg_llm_stream:
            return read_completion(await create(**kwargs))
        stream = await create(**kwargs, stream=True, stream_options={"include_usage": True})
        async with stream:
            return await read_stream(stream, on_delta or _unread)

    def _result(self, model: str, key: str, request: ChatRequest, answer: Answer) -> ChatResult:
        approximate = False
        prompt, completion = answer.prompt_tokens, answer.completion_tokens
        counted = prompt is None or completion is None
        if prompt is None or completion is None:
            approximate = not tokens.is_exact(model)
            prompt = tokens.count_messages(request.messages)
            completion = tokens.count_text(answer.content)
        return ChatResult(
            content=answer.content,
            model=model,
            request_hash=key,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_usd=self.prices.cost(model, prompt, completion),
            tokens_approximate=approximate,
            tokens_counted=counted,
        )
