"""The replay provider answers from recorded LlmCalled events, and says where a run diverges."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from pydantic import BaseModel

from bdg_contracts.events import LlmCalled
from bdg_llm.api import ChatRequest, ChatResult, LlmAnswerError, Message
from bdg_llm.hashing import request_hash
from bdg_llm.llm_called_fields import fields_for_event
from bdg_llm.replay import ReplayLlm, ReplayMissError
from bdg_llm.schema import structured_request
from bdg_llm.toolcalls import ToolCallError, chat_tools
from tests.unit.jobs import CAUSE, new_job

pytestmark = pytest.mark.timeout(10)

PLAN = ChatRequest("planner", (Message("user", "plan it"),))


class Score(BaseModel):
    score: int


class ListFiles(BaseModel):
    folder: str


def _result(request: ChatRequest, content: str, model: str = "gpt-4o-mini") -> ChatResult:
    return ChatResult(content, model, request_hash(model, request), 100, 20, 0.002)


def _recorded(*calls: tuple[ChatResult, str]) -> list[LlmCalled]:
    job = new_job()
    job.collect()
    for result, role in calls:
        job.record_llm_call(CAUSE, **fields_for_event(result, role))
    events = job.collect()
    assert job.cost_usd == pytest.approx(sum(r.cost_usd for r, _ in calls))
    return [e for e in events if isinstance(e, LlmCalled)]


def test_fields_for_event_are_the_llm_called_fields() -> None:
    fields = fields_for_event(_result(PLAN, "- [ ] a"), "planner")
    envelope = {
        "job_id",
        "version",
        "event_id",
        "causation_id",
        "correlation_id",
        "tenant_id",
        "user_id",
        "producer",
        "occurred_at",
        "schema_version",
        "traceparent",
    }
    assert set(fields) == set(LlmCalled.model_fields) - envelope
    assert fields["response"] == "- [ ] a"


async def test_a_recorded_call_is_answered_with_its_figures() -> None:
    first = _result(PLAN, "- [ ] a")
    replay = ReplayLlm(_recorded((first, "planner")))
    seen: list[str] = []

    async def on_delta(text: str) -> None:
        seen.append(text)

    assert await replay.chat(PLAN, on_delta) == first
    assert seen == ["- [ ] a"]


async def test_identical_requests_are_answered_in_recorded_order() -> None:
    replay = ReplayLlm(
        _recorded((_result(PLAN, "one"), "planner"), (_result(PLAN, "two"), "planner"))
    )
    assert [(await replay.chat(PLAN)).content for _ in range(2)] == ["one", "two"]
    with pytest.raises(ReplayMissError, match="diverges"):
        await replay.chat(PLAN)


async def test_a_changed_prompt_is_a_miss_naming_hash_and_role() -> None:
    replay = ReplayLlm(_recorded((_result(PLAN, "one"), "planner")))
    changed = replace(PLAN, messages=(Message("user", "plan it better"),))
    with pytest.raises(ReplayMissError) as miss:
        await replay.chat(changed)
    assert miss.value.request_hash == request_hash("gpt-4o-mini", changed)
    assert miss.value.role == "planner"
    assert replay.remaining() == 1


async def test_another_model_misses_and_an_unrecorded_role_too() -> None:
    recorded = _recorded((_result(PLAN, "one"), "planner"))
    with pytest.raises(ReplayMissError, match=r"model gpt-4\.1"):
        await ReplayLlm(recorded, models={"planner": "gpt-4.1"}).chat(PLAN)
    with pytest.raises(ReplayMissError, match="no recorded model"):
        await ReplayLlm(recorded).chat(replace(PLAN, role="critic"))


async def test_structured_and_tool_answers_replay_the_same_way() -> None:
    critic = ChatRequest("critic", (Message("user", "rate it"),))
    good = _result(structured_request(critic, Score), '{"score": 8}')
    replay = ReplayLlm(_recorded((good, "critic")))
    answer, result = await replay.structured(critic, Score)
    assert (answer, result) == (Score(score=8), good)

    bad = _result(structured_request(critic, Score), '{"score": "high"}')
    with pytest.raises(LlmAnswerError, match="score"):
        await ReplayLlm(_recorded((bad, "critic"))).structured(critic, Score)


async def test_a_recorded_tool_call_error_fails_again() -> None:
    from bdg_llm.toolcalls import tools_request

    tools = {"list_files": ListFiles}
    ask = ChatRequest("coder", (Message("user", "look"),))
    wrong = _result(tools_request(ask, tools), json.dumps({"tool": "ls", "arguments": {}}))
    with pytest.raises(ToolCallError, match="Unknown tool") as err:
        await chat_tools(ReplayLlm(_recorded((wrong, "coder"))), ask, tools)
    assert err.value.result == wrong
