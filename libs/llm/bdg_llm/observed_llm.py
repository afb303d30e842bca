"""A model client seen from outside: one span per call (OpenTelemetry GenAI semantic
conventions, plus the call's cost) and the tokens and spend in the process's metrics.

Wraps whatever ``client_from_settings`` built (endpoint, recordings), so recorded runs are
traced as live ones are; the budget ledger wraps this in turn (a refused call sends nothing
and has no span).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bdg_llm.api import ChatRequest, ChatResult, LlmClient, M, OnDelta
from bdg_llm.job_models import model_chosen_for
from bdg_llm.settings import LlmSettings
from bdg_telemetry import metrics, tracing


class ObservedLlm:
    def __init__(self, inner: LlmClient, settings: LlmSettings) -> None:
        self.inner, self.settings = inner, settings

    async def chat(self, request: ChatRequest, on_delta: OnDelta | None = None) -> ChatResult:
        with self._call(request) as seen:
            result = await self.inner.chat(request, on_delta)
            seen.append(result)
            return result

    async def structured(self, request: ChatRequest, answer: type[M]) -> tuple[M, ChatResult]:
        with self._call(request) as seen:
            parsed, result = await self.inner.structured(request, answer)
            seen.append(result)
            return parsed, result

    @contextmanager
    def _call(self, request: ChatRequest) -> Iterator[list[ChatResult]]:
        model = model_chosen_for(request.role) or self.settings.model_for(request.role)
        attributes: dict[str, tracing.AttributeValue | None] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": model,
            "gen_ai.request.max_tokens": request.max_tokens,
            "gen_ai.request.temperature": request.temperature,
            "gen_ai.agent.name": request.role,
        }
        seen: list[ChatResult] = []
        outcome = "error"
        try:
            with tracing.span(f"chat {model}", attributes, kind="client") as span:
                yield seen
                outcome = "ok"
                for result in seen:
                    _describe(span, result)
        finally:
            _count(model, request.role, outcome, seen)


def _describe(span: tracing.Span, result: ChatResult) -> None:
    span.set("gen_ai.response.model", result.model)
    span.set("gen_ai.usage.input_tokens", result.prompt_tokens)
    span.set("gen_ai.usage.output_tokens", result.completion_tokens)
    span.set("bdg.cost_usd", result.cost_usd)
    span.set("bdg.tokens_approximate", result.tokens_approximate)


def _count(model: str, role: str, outcome: str, seen: list[ChatResult]) -> None:
    service = metrics.service()
    metrics.MODEL_CALLS.labels(service, model, role, outcome).inc()
    for result in seen:
        metrics.MODEL_TOKENS.labels(service, result.model, "input").inc(result.prompt_tokens)
        metrics.MODEL_TOKENS.labels(service, result.model, "output").inc(result.completion_tokens)
        metrics.MODEL_COST.labels(service, result.model, role).inc(result.cost_usd)
