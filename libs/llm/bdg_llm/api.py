"""What every service sees of a language model: one request type, one result type, one port.

Implementations: the OpenAI-compatible client (any endpoint, or the offline local model server)
and the replay provider (answers from a job's recorded LlmCalled events). Services never know
which one they talk to.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel

Role = Literal["planner", "critic", "coder", "reviewer"]
M = TypeVar("M", bound=BaseModel)
OnDelta = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class Message:
    role: Literal["system", "user", "assistant", "tool"]
    content: str


@dataclass(frozen=True)
class ChatRequest:
    role: Role
    messages: tuple[Message, ...]
    # A JSON schema the answer must follow (structured output / constrained decoding).
    schema: dict[str, Any] | None = None
    schema_name: str = "answer"
    # The schema keeps to OpenAI's strict subset (sent as ``json_schema.strict``); local servers
    # constrain decoding to any schema either way.
    strict: bool = True
    temperature: float = 0.0
    max_tokens: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChatResult:
    content: str
    model: str
    request_hash: str  # hash of (model, canonical request): the replay key
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    tokens_approximate: bool = False  # counted locally with a stand-in encoding
    tokens_counted: bool = False  # the endpoint sent no usage: counted here (the ledger flags it)


class LlmAnswerError(ValueError):
    """The model answered, but not as asked (invalid JSON, wrong schema): ``result`` keeps the
    call so it is recorded (and paid for) all the same."""

    def __init__(self, message: str, result: ChatResult) -> None:
        super().__init__(message)
        self.result = result


class LlmUnavailableError(ConnectionError):
    """The endpoint could not be reached or kept failing after the retries."""


class LlmRejectedError(LlmUnavailableError):
    """The endpoint refused the request (4xx other than 429: bad request, bad key, unknown
    model): retrying would not help, the configuration or the request must change."""

    def __init__(self, message: str, status: int, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class LlmClient(Protocol):
    async def chat(self, request: ChatRequest, on_delta: OnDelta | None = None) -> ChatResult:
        """One completion; ``on_delta`` receives the text as it streams."""
        ...

    async def structured(self, request: ChatRequest, answer: type[M]) -> tuple[M, ChatResult]:
        """A completion constrained to ``answer``'s JSON schema and validated by it."""
        ...
