"""OpenAiClient against a local server speaking the Chat Completions API (real SDK, real HTTP)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import pytest
from pydantic import BaseModel, Field

from bdg_contracts.events import LlmCalled
from bdg_llm.api import (
    ChatRequest,
    LlmAnswerError,
    LlmRejectedError,
    LlmUnavailableError,
    Message,
)
from bdg_llm.llm_called_fields import fields_for_event
from bdg_llm.openai_client import OpenAiClient
from bdg_llm.replay import ReplayLlm, ReplayMissError
from bdg_llm.settings import LlmSettings
from bdg_llm.toolcalls import ToolCallError, chat_tools
from tests.fakes.openai_server import Failure, FakeOpenAi, Hang, Reply, ToolCall
from tests.unit.jobs import CAUSE, new_job

pytestmark = pytest.mark.timeout(20)

ASK = ChatRequest("planner", (Message("system", "You plan."), Message("user", "Plan a CLI.")))


class Critique(BaseModel):
    score: int = Field(ge=1, le=10)
    risks: list[str]


class FileRead(BaseModel):
    """Read a file of the workspace."""

    path: str


class ListFiles(BaseModel):
    """List the files under a folder."""

    folder: str


TOOLS = {"file_read": FileRead, "list_files": ListFiles}


class Sleeps(list[float]):
    """Records the backoff delays instead of waiting them out."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


MakeClient = Callable[..., OpenAiClient]


@pytest.fixture
async def make_client(fake: FakeOpenAi) -> AsyncIterator[MakeClient]:
    made: list[OpenAiClient] = []

    def make(sleeps: Sleeps | None = None, **env: Any) -> OpenAiClient:
        settings = LlmSettings(
            openai_base_url=fake.base_url,
            openai_api_key=env.pop("openai_api_key", "sk-test"),
            bdg_llm_max_retries=env.pop("retries", 2),
            bdg_llm_timeout_seconds=env.pop("timeout", 10.0),
            bdg_llm_backoff_seconds=0.5,
            **env,
        )
        client = OpenAiClient(
            settings, sleep=sleeps if sleeps is not None else Sleeps(), jitter=lambda: 0.5
        )
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


async def test_plain_chat_takes_the_endpoints_usage_and_prices_it(
    fake: FakeOpenAi, make_client: MakeClient
) -> None:
    fake.push(Reply("- [ ] parse args", prompt_tokens=1000, completion_tokens=500))
    result = await make_client().chat(ASK)

    assert result.content == "- [ ] parse args"
    assert (result.prompt_tokens, result.completion_tokens) == (1000, 500)
    assert result.model == "gpt-4o-mini"
    assert result.cost_usd == pytest.approx((1000 * 0.15 + 500 * 0.60) / 1e6)
    assert not result.tokens_approximate
    sent = fake.requests[0]
    assert sent["model"] == "gpt-4o-mini"
    assert sent["messages"] == [
        {"role": "system", "content": "You plan."},
        {"role": "user", "content": "Plan a CLI."},
    ]
    assert "stream" not in sent


async def test_without_usage_tokens_are_counted_locally(
    fake: FakeOpenAi, make_client: MakeClient
) -> None:
    fake.push(Reply("hello world", usage=False), Reply("hello world", usage=False))
    approx = await make_client().chat(ASK)
    exact = await make_client(bdg_model_planner="gpt-4").chat(ASK)

    assert approx.completion_tokens == exact.completion_tokens == 2
    assert approx.prompt_tokens == exact.prompt_tokens > 10
    assert approx.tokens_approximate  # gpt-4o-mini is o200k_base, counted with cl100k_base
    assert not exact.tokens_approximate


async def test_streaming_passes_deltas_in_order_and_keeps_the_usage(
    fake: FakeOpenAi, make_client: MakeClient
) -> None:
    fake.push(Reply(chunks=("- [ ] ", "one\n", "- [ ] ", "two"), completion_tokens=4))
    seen: list[str] = []

    async def on_delta(text: str) -> None:
        seen.append(text)

    result = await make_client().chat(ASK, on_delta)

    assert seen == ["- [ ] ", "one\n", "- [ ] ", "two"]
    assert result.content == "- [ ] one\n- [ ] two"
    assert result.completion_tokens == 4
    assert fake.requests[0]["stream"] is True
    assert fake.requests[0]["stream_options"] == {"include_usage": True}


async def test_structured_output_is_sent_strict_and_validated(
    fake: FakeOpenAi, make_client: MakeClient
) -> None:
    fake.push(Reply(json.dumps({"score": 7, "risks": ["no tests"]})))
    critic = ChatRequest("critic", ASK.messages, schema_name="critique")
    answer, result = await make_client().structured(critic, Critique)

    assert answer == Critique(score=7, risks=["no tests"])
    fmt = fake.requests[0]["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "critique"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["additionalProperties"] is False
    assert result.content == json.dumps({"score": 7, "risks": ["no tests"]})


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ('{"score": 7, "risks": [', "not JSON"),
        ('{"score": 11, "risks": []}', "score"),
        ('{"risks": []}', "score: required field missing"),
    ],
)
async def test_malformed_structured_answer_raises_with_the_call(
    fake: FakeOpenAi, make_client: MakeClient, answer: str, says: str
) -> None:
    fake.push(Reply(answer))
    with pytest.raises(LlmAnswerError, match=says) as err:
        await make_client().structured(ASK, Critique)
    assert err.value.result.content == answer
    assert err.value.result.prompt_tokens == 11  # recorded and paid all the same


async def test_rate_limit_is_retried_after_the_servers_delay(
    fake: FakeOpenAi, make_client: MakeClient
) -> None:
    sleeps = Sleeps()
    fake.push(Failure(429, retry_after="3"), Failure(503), Reply("ok"))
    result = await make_client(sleeps).chat(ASK)

    assert result.content == "ok"
    assert len(fake.requests) == 3
    assert sleeps == [3.0, 0.75]  # Retry-After, then backoff 0.5*2 with half jitter


async def test_server_errors_past_the_retries_make_the_endpoint_unavailable(
    fake: FakeOpenAi, make_client: MakeClient
) -> None:
    sleeps = Sleeps()
    fake.push(*[Failure(500)] * 3)
    with pytest.raises(LlmUnavailableError, match="gave up after 3 attempts: 500") as err:
        await make_client(sleeps, retries=2).chat(ASK)

    assert not isinstance(err.value, LlmRejectedError)
    assert len(fake.requests) == 3
    assert sleeps == [0.375, 0.75]


@pytest.mark.parametrize(("status", "code"), [(400, None), (401, "invalid_api_key"), (404, None)])
async def test_client_errors_are_not_retried(
    fake: FakeOpenAi, make_client: MakeClient, status: int, code: str | None
) -> None:
    fake.push(Failure(status, "Unsupported parameter: 'temperature'.", code=code), Reply("x"))
    with pytest.raises(LlmRejectedError, match="refused the request") as err:
        await make_client().chat(ASK)

    assert err.value.status == status
    assert len(fake.requests) == 1


async def test_a_wrong_key_is_a_clear_rejection(fake: FakeOpenAi, make_client: MakeClient) -> None:
    client = make_client(openai_api_key="sk-wrong")
    with pytest.raises(LlmRejectedError, match="401 invalid_api_key: Incorrect API key"):
        await client.chat(ASK)


async def test_timeouts_are_retried_then_reported(
    fake: FakeOpenAi, make_client: MakeClient
) -> None:
    hangs = [Hang(), Hang()]
    fake.push(*hangs, Reply("late but fine"))
    result = await make_client(retries=2, timeout=0.3).chat(ASK)
    assert result.content == "late but fine"
    assert all(h.arrived.is_set() for h in hangs)

    fake.push(Hang(), Hang())
    with pytest.raises(LlmUnavailableError, match="timed out"):
        await make_client(retries=1, timeout=0.3).chat(ASK)


async def test_a_stream_that_breaks_after_text_is_not_retried(
    fake: FakeOpenAi, make_client: MakeClient
) -> None:
    fake.push(Reply("one two three four", cut_after=2), Reply("again"))
    seen: list[str] = []

    async def on_delta(text: str) -> None:
        seen.append(text)

    with pytest.raises(LlmUnavailableError, match="the stream broke"):
        await make_client().chat(ASK, on_delta)
    assert seen == ["one ", "two "]
    assert len(fake.requests) == 1


async def test_tool_call_from_the_union_schema(fake: FakeOpenAi, make_client: MakeClient) -> None:
    fake.push(Reply('{"tool": "file_read", "arguments": {"path": "README.md"}}'))
    choice = await chat_tools(make_client(), ASK, TOOLS)

    assert (choice.tool, choice.arguments) == ("file_read", FileRead(path="README.md"))
    fmt = fake.requests[0]["response_format"]["json_schema"]
    assert fmt["name"] == "tool_call"
    assert fmt["strict"] is False
    branches = fmt["schema"]["anyOf"]
    assert [b["properties"]["tool"]["enum"] for b in branches] == [["file_read"], ["list_files"]]


async def test_native_tool_calls_read_the_same(fake: FakeOpenAi, make_client: MakeClient) -> None:
    fake.push(
        Reply(tool_calls=(ToolCall("list_files", '{"folder": "src"}'),)),
        Reply(tool_calls=(ToolCall("list_files", '{"folder": "src"}'),)),
    )
    choice = await chat_tools(make_client(), ASK, TOOLS, native=True)
    assert (choice.tool, choice.arguments) == ("list_files", ListFiles(folder="src"))
    sent = fake.requests[0]
    assert [t["function"]["name"] for t in sent["tools"]] == ["file_read", "list_files"]
    assert sent["tool_choice"] == "required"
    assert sent["tools"][0]["function"]["description"] == "Read a file of the workspace."

    # Streamed, the call arrives in pieces and reads the same.
    streamed: list[str] = []

    async def on_delta(text: str) -> None:
        streamed.append(text)

    tools_ask = ChatRequest("planner", ASK.messages, extra={"tools": sent["tools"]})
    result = await make_client().chat(tools_ask, on_delta)
    assert result.content == choice.result.content
    assert json.loads(result.content) == {"tool": "list_files", "arguments": {"folder": "src"}}
    assert streamed == []


async def test_a_hallucinated_tool_call_is_an_error_to_send_back(
    fake: FakeOpenAi, make_client: MakeClient
) -> None:
    fake.push(Reply('{"tool": "file_read", "arguments": {"path": "a", "mode": "rb"}}'))
    with pytest.raises(ToolCallError, match="no argument mode") as err:
        await chat_tools(make_client(), ASK, TOOLS)
    assert err.value.result is not None
    assert err.value.result.prompt_tokens == 11


async def test_replay_reproduces_recorded_calls_and_reports_a_miss(
    fake: FakeOpenAi, make_client: MakeClient
) -> None:
    fake.push(Reply("plan v1"), Reply(json.dumps({"score": 9, "risks": []})))
    client = make_client()
    critic = ChatRequest("critic", (Message("user", "rate: plan v1"),))
    first = await client.chat(ASK)
    _, second = await client.structured(critic, Critique)
    job = new_job()
    job.record_llm_call(CAUSE, **fields_for_event(first, "planner"))
    job.record_llm_call(CAUSE, **fields_for_event(second, "critic"))
    recorded = [e for e in job.collect() if isinstance(e, LlmCalled)]
    assert job.cost_usd == pytest.approx(first.cost_usd + second.cost_usd)

    replay = ReplayLlm(recorded)
    assert await replay.chat(ASK) == first
    answer, again = await replay.structured(critic, Critique)
    assert (answer.score, again) == (9, second)
    assert replay.remaining() == 0

    with pytest.raises(ReplayMissError) as miss:
        await replay.chat(ASK)  # asked once more than recorded
    assert (miss.value.request_hash, miss.value.role) == (first.request_hash, "planner")
    assert len(fake.requests) == 2  # replay never touches the endpoint


async def test_concurrent_calls_share_one_client(fake: FakeOpenAi, make_client: MakeClient) -> None:
    fake.push(*[Reply("same") for _ in range(5)])
    client = make_client()
    results = await asyncio.gather(*[client.chat(ASK) for _ in range(5)])
    assert {r.content for r in results} == {"same"}
    assert len({r.request_hash for r in results}) == 1


async def test_every_answer_is_bounded_and_seeded_as_the_settings_say(
    fake: FakeOpenAi, make_client: MakeClient
) -> None:
    fake.push(*[Reply("{}")] * 4)
    coder = ChatRequest("coder", ASK.messages)
    await make_client().chat(coder)  # large or unknown context
    await make_client(bdg_llm_context_tokens=4096).chat(coder)  # the offline model's
    await make_client().chat(replace(ASK, max_tokens=600))  # the request's own cap wins
    await make_client(bdg_llm_seed=-1, bdg_llm_max_tokens={"planner": 300}).chat(ASK)

    sent = [(r.get("max_tokens"), r.get("seed"), r["temperature"]) for r in fake.requests]
    assert sent == [(4096, 42, 0.0), (1024, 42, 0.0), (600, 42, 0.0), (300, None, 0.0)]


async def test_the_bounds_leave_the_replay_key_as_it_was(
    fake: FakeOpenAi, make_client: MakeClient
) -> None:
    fake.push(Reply("a"), Reply("a"))
    bounded = await make_client(bdg_llm_max_tokens={"planner": 300}).chat(ASK)
    unbounded = await make_client(bdg_llm_seed=-1).chat(ASK)
    assert bounded.request_hash == unbounded.request_hash  # recordings made before still answer


def test_a_cap_below_a_usable_answer_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValueError, match="bdg_llm_max_tokens"):
        LlmSettings(bdg_llm_max_tokens={"coder": 0})
