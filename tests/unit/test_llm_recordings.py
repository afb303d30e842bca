"""Recorded model calls in a JSON Lines file: recording (BDG_LLM_RECORD) and answering from it
(BDG_LLM_RECORDINGS)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from bdg_contracts.events import LlmCalled
from bdg_llm.api import ChatRequest, ChatResult, LlmAnswerError, Message
from bdg_llm.hashing import request_hash
from bdg_llm.llm_called_fields import fields_for_event
from bdg_llm.observed_llm import ObservedLlm
from bdg_llm.openai_client import OpenAiClient
from bdg_llm.recorded_calls import (
    RecordedCall,
    RecordedLlm,
    RecordingLlm,
    RecordingMissError,
    RecordingsError,
    append_recording,
    client_from_settings,
    describe_client,
    read_recordings,
)
from bdg_llm.replay import ReplayLlm
from bdg_llm.schema import structured_request
from bdg_llm.settings import LlmSettings
from tests.unit.jobs import CAUSE, new_job

pytestmark = pytest.mark.timeout(10)
ASK = ChatRequest("coder", (Message("user", "fix it"),))
OTHER = ChatRequest("coder", (Message("user", "something else"),))


class Score(BaseModel):
    score: int


def result(request: ChatRequest, content: str, model: str = "gpt-4o-mini") -> ChatResult:
    return ChatResult(content, model, request_hash(model, request), 120, 30, 0.0004)


def recorded(*results: tuple[ChatResult, str]) -> list[LlmCalled]:
    job = new_job()
    job.collect()
    for r, role in results:
        job.record_llm_call(CAUSE, **fields_for_event(r, role))
    return [e for e in job.collect() if isinstance(e, LlmCalled)]


async def test_recorded_calls_are_answered_in_order_then_the_last_again(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    for content in ("one", "two"):
        append_recording(path, RecordedCall.of(result(ASK, content), "coder"))
    llm = RecordedLlm.from_file(path)
    answers = [(await llm.chat(ASK)).content for _ in range(3)]
    assert answers == ["one", "two", "two"]  # a redelivered handler asks again
    answered = await llm.chat(ASK)
    assert answered == result(ASK, "two")
    with pytest.raises(RecordingMissError, match=f"{path}: no recorded coder call"):
        await llm.chat(OTHER)


async def test_recording_appends_each_call_and_replays_the_same(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    critic = ChatRequest("critic", (Message("user", "rate it"),))
    bad = result(structured_request(critic, Score), '{"score": "high"}')
    inner = ReplayLlm(recorded((result(ASK, "done"), "coder"), (bad, "critic")))
    recording = RecordingLlm(inner, path)
    assert (await recording.chat(ASK)).content == "done"
    with pytest.raises(LlmAnswerError):
        await recording.structured(critic, Score)  # recorded all the same: it was paid for
    calls = read_recordings(path)
    assert [(c.role, c.response) for c in calls] == [("coder", "done"), ("critic", bad.content)]
    again = RecordedLlm(calls)
    assert (await again.chat(ASK)).content == "done"
    with pytest.raises(LlmAnswerError):
        await again.structured(critic, Score)


def test_a_broken_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    good = RecordedCall.of(result(ASK, "x"), "coder").model_dump_json()
    path.write_text(f'{good}\n\n{{"request_hash": "h"}}\n')
    with pytest.raises(RecordingsError, match="line 3"):
        read_recordings(path)
    with pytest.raises(RecordingsError, match="No such file"):
        read_recordings(tmp_path / "missing.jsonl")


def test_the_settings_choose_the_client(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    path.write_text("")
    answering = LlmSettings(bdg_llm_recordings=path, bdg_llm_record=tmp_path / "ignored.jsonl")
    # Each one observed (spans and metrics of its calls) around the client chosen.
    assert isinstance(chosen(answering), RecordedLlm)
    assert describe_client(answering, "coder") == f"recorded calls in {path}"
    recording = LlmSettings(openai_base_url="http://127.0.0.1:9/v1", bdg_llm_record=path)
    client = chosen(recording)
    assert isinstance(client, RecordingLlm)
    assert isinstance(client.inner, OpenAiClient)
    assert describe_client(recording, "coder").endswith(f"recorded into {path}")
    assert isinstance(chosen(LlmSettings()), OpenAiClient)


def chosen(settings: LlmSettings) -> object:
    client = client_from_settings(settings)
    assert isinstance(client, ObservedLlm)
    return client.inner
