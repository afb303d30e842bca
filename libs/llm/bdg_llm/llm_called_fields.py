"""One way to record a call on the job: ``job.record_llm_call(cause, **fields_for_event(...))``.

Record answers that failed validation too (``LlmAnswerError.result``): they were paid for, and
replay needs them to fail the same way.
"""

from __future__ import annotations

from typing import TypedDict

from bdg_llm.api import ChatResult


class LlmCallFields(TypedDict):
    """The keyword arguments of ``Job.record_llm_call``: typed, so the call is checked."""

    role: str
    model: str
    request_hash: str
    response: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


def fields_for_event(result: ChatResult, role: str) -> LlmCallFields:
    """The keyword arguments of ``Job.record_llm_call`` (the fields of ``LlmCalled``)."""
    return {
        "role": role,
        "model": result.model,
        "request_hash": result.request_hash,
        "response": result.content,
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "cost_usd": result.cost_usd,
    }
