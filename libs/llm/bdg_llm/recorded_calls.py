"""Recorded model calls in a JSON Lines file: made with ``BDG_LLM_RECORD``, answered from with
``BDG_LLM_RECORDINGS``, so deterministic tests and demos run every service with no model.

One line per call, the fields of ``LlmCalled`` without the envelope::

    {"request_hash": "...", "role": "coder", "model": "gpt-4o-mini", "response": "...",
     "prompt_tokens": 812, "completion_tokens": 41, "cost_usd": 0.00014}

Answering is ``ReplayLlm``'s: by request hash, with the model each role was recorded with,
identical requests in recorded order. Unlike a job replay, the last answer to a request is given
again once its recorded ones are used up, so a redelivered handler (which asks again from its
start) and a second job with the same goal are answered too. A request never recorded raises
``RecordingMissError``. Every service process reads the file once, at start.
"""

from __future__ import annotations

import fcntl
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bdg_contracts.events import LlmCalled
from bdg_llm.api import ChatRequest, ChatResult, LlmClient, M, OnDelta, Role
from bdg_llm.llm_called_fields import fields_for_event
from bdg_llm.observed_llm import ObservedLlm
from bdg_llm.openai_client import OpenAiClient
from bdg_llm.replay import ReplayLlm, ReplayMissError
from bdg_llm.schema import structured_request, validate_answer
from bdg_llm.settings import LlmSettings

# The envelope of the LlmCalled events ReplayLlm is built from: a file belongs to no job.
_NO_JOB = UUID(int=0)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class RecordingsError(ValueError):
    """The recordings file cannot be read, or a line is not a recorded call."""


class RecordingMissError(ReplayMissError):
    """The request was never recorded in the file: its prompt, model or tools differ."""

    def __init__(self, request_hash: str, role: str, source: str) -> None:
        super().__init__(request_hash, role, None)
        self.args = (
            f"{source}: no recorded {role} call with request hash {request_hash}; the prompt, "
            "the model or the tools differ from the recorded run",
        )


class RecordedCall(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    request_hash: str = Field(min_length=1)
    role: str
    model: str
    response: str
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    cost_usd: float = Field(ge=0)

    @classmethod
    def of(cls, result: ChatResult, role: str) -> RecordedCall:
        return cls(**fields_for_event(result, role))

    def as_event(self, number: int) -> LlmCalled:
        return LlmCalled(
            job_id=_NO_JOB,
            version=number,
            correlation_id="recordings",
            tenant_id="recordings",
            producer="recordings",
            occurred_at=_EPOCH,
            **self.model_dump(),
        )


def read_recordings(path: Path) -> list[RecordedCall]:
    """Every call in the file, in order; RecordingsError names the line that is wrong."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise RecordingsError(f"recordings {path}: {error.strerror or error}") from error
    calls = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            calls.append(RecordedCall.model_validate_json(line))
        except ValidationError as error:
            raise RecordingsError(f"recordings {path}, line {number}: {error}") from error
    return calls


def append_recording(path: Path, call: RecordedCall) -> None:
    """One line, written whole under a lock: several processes may record into one file."""
    line = (call.model_dump_json() + "\n").encode()
    with path.open("ab") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        try:
            file.write(line)
            file.flush()
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


class RecordedLlm:
    """Answers from recorded calls (``BDG_LLM_RECORDINGS``)."""

    def __init__(self, calls: Sequence[RecordedCall], source: str = "recordings") -> None:
        self.source = source
        self._replay = ReplayLlm([c.as_event(i) for i, c in enumerate(calls, 1)])
        self._last = {c.request_hash: c for c in calls}

    @classmethod
    def from_file(cls, path: Path) -> RecordedLlm:
        return cls(read_recordings(path), str(path))

    async def chat(self, request: ChatRequest, on_delta: OnDelta | None = None) -> ChatResult:
        try:
            return await self._replay.chat(request, on_delta)
        except ReplayMissError as miss:
            last = self._last.get(miss.request_hash)
            if last is None:
                raise RecordingMissError(miss.request_hash, miss.role, self.source) from None
        if on_delta is not None:
            await on_delta(last.response)
        return ChatResult(
            content=last.response,
            model=last.model,
            request_hash=last.request_hash,
            prompt_tokens=last.prompt_tokens,
            completion_tokens=last.completion_tokens,
            cost_usd=last.cost_usd,
        )

    async def structured(self, request: ChatRequest, answer: type[M]) -> tuple[M, ChatResult]:
        result = await self.chat(structured_request(request, answer))
        return validate_answer(result, answer), result


class RecordingLlm:
    """Another client's calls, each appended to a file as it returns (``BDG_LLM_RECORD``)."""

    def __init__(self, inner: LlmClient, path: Path) -> None:
        self.inner, self.path = inner, path

    async def chat(self, request: ChatRequest, on_delta: OnDelta | None = None) -> ChatResult:
        result = await self.inner.chat(request, on_delta)
        append_recording(self.path, RecordedCall.of(result, request.role))
        return result

    async def structured(self, request: ChatRequest, answer: type[M]) -> tuple[M, ChatResult]:
        # Through our own chat, so the call is recorded even when the answer does not validate.
        result = await self.chat(structured_request(request, answer))
        return validate_answer(result, answer), result


def client_from_settings(settings: LlmSettings) -> LlmClient:
    """The client a service talks to: recorded answers (``BDG_LLM_RECORDINGS``), else the
    OpenAI-compatible endpoint, its calls appended to ``BDG_LLM_RECORD`` when that is set."""
    client: LlmClient
    if settings.bdg_llm_recordings is not None:
        client = RecordedLlm.from_file(settings.bdg_llm_recordings)
    else:
        client = OpenAiClient(settings)
        if settings.bdg_llm_record is not None:
            client = RecordingLlm(client, settings.bdg_llm_record)
    return ObservedLlm(client, settings)


def describe_client(settings: LlmSettings, role: Role) -> str:
    """For a service's start-up log line: where its model answers come from."""
    if settings.bdg_llm_recordings is not None:
        return f"recorded calls in {settings.bdg_llm_recordings}"
    where = settings.openai_base_url or "api.openai.com"
    model = settings.model_for(role)
    recorded = f", recorded into {settings.bdg_llm_record}" if settings.bdg_llm_record else ""
    return f"{model} at {where}{recorded}"


__all__ = [
    "RecordedCall",
    "RecordedLlm",
    "RecordingLlm",
    "RecordingMissError",
    "RecordingsError",
    "append_recording",
    "client_from_settings",
    "describe_client",
    "read_recordings",
]
