"""The OpenAI embedder against the fake `/v1/embeddings` (OpenAI's documented API): batches,
retries with backoff on 429/5xx/timeouts, refusals, the SDK's default base64 encoding."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import openai
import pytest
from openai import AsyncOpenAI

from bdg_llm.api import LlmRejectedError, LlmUnavailableError
from bdg_llm.embeddings import OpenAiEmbedder, embedder_from_env
from bdg_llm.retries import Backoff
from tests.fakes.openai_server import Embed, Failure, FakeOpenAi, Hang, fake_embedding

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def sdk(fake: FakeOpenAi) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(
        base_url=fake.base_url, api_key="sk-test", max_retries=0, timeout=2
    ) as client:
        yield client


def embedder(sdk: AsyncOpenAI, sleeps: list[float], **kwargs: object) -> OpenAiEmbedder:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    backoff = Backoff(0.5, 8.0, jitter=lambda: 1.0)
    # Floats, so vectors compare exactly with the fake's; base64 is checked on its own below.
    kwargs.setdefault("encoding_format", "float")
    return OpenAiEmbedder(sdk, backoff=backoff, sleep=sleep, **kwargs)  # type: ignore[arg-type]


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def test_vectors_are_unit_length_deterministic_and_closer_for_shared_words(
    sdk: AsyncOpenAI, fake: FakeOpenAi
) -> None:
    texts = ["retry the flaky call", "retry a call", "render the cart total"]
    first, second = await embedder(sdk, []).embed(texts), await embedder(sdk, []).embed(texts)
    assert first == second
    assert [len(v) for v in first] == [1536] * 3
    assert all(math.isclose(math.sqrt(sum(x * x for x in v)), 1.0) for v in first)
    assert cosine(first[0], first[1]) > cosine(first[0], first[2])
    assert fake.embedding_requests[0]["encoding_format"] == "float"


async def test_the_sdk_default_base64_decodes_to_the_same_vectors(sdk: AsyncOpenAI) -> None:
    response = await sdk.embeddings.create(model="text-embedding-3-small", input="hello world")
    assert response.object == "list"
    assert response.usage.prompt_tokens == response.usage.total_tokens == 2
    decoded = response.data[0].embedding
    expected = fake_embedding("hello world", 1536)
    assert max(abs(a - b) for a, b in zip(decoded, expected, strict=True)) < 1e-6
    short = await sdk.embeddings.create(
        model="text-embedding-3-small", input=["a", "b"], dimensions=8, encoding_format="float"
    )
    assert [(d.index, len(d.embedding)) for d in short.data] == [(0, 8), (1, 8)]


async def test_requests_the_api_refuses(sdk: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match=r"'\$\.input' is invalid"):
        await sdk.embeddings.create(model="text-embedding-3-small", input="")
    with pytest.raises(openai.BadRequestError, match="does not support specifying dimensions"):
        await sdk.embeddings.create(model="text-embedding-ada-002", input="a", dimensions=8)
    with pytest.raises(openai.BadRequestError, match="encoding_format"):
        await sdk.embeddings.create(
            model="text-embedding-3-small",
            input="a",
            encoding_format="int8",  # type: ignore[arg-type]
        )


async def test_texts_go_in_batches_and_come_back_in_order(
    sdk: AsyncOpenAI, fake: FakeOpenAi
) -> None:
    texts = [f"text number {i}" for i in range(5)]
    vectors = await embedder(sdk, [], batch_size=2).embed(texts)
    assert [r["input"] for r in fake.embedding_requests] == [texts[:2], texts[2:4], texts[4:]]
    assert vectors == [fake_embedding(t, 1536) for t in texts]


async def test_429_and_5xx_are_retried_with_backoff_honouring_retry_after(
    sdk: AsyncOpenAI, fake: FakeOpenAi
) -> None:
    fake.push_embeddings(Failure(429, retry_after="3"), Failure(503), Failure(500), Embed())
    sleeps: list[float] = []
    vectors = await embedder(sdk, sleeps).embed(["a"])
    assert vectors == [fake_embedding("a", 1536)]
    assert sleeps == [3.0, 1.0, 2.0]  # Retry-After, then 0.5 * 2^1, 0.5 * 2^2 (jitter 1)
    assert len(fake.embedding_requests) == 4


async def test_a_hung_request_times_out_and_is_tried_again(
    sdk: AsyncOpenAI, fake: FakeOpenAi
) -> None:
    hang = Hang()
    fake.push_embeddings(hang)
    sleeps: list[float] = []
    assert await embedder(sdk, sleeps).embed(["a"]) == [fake_embedding("a", 1536)]
    assert hang.arrived.is_set()
    assert len(sleeps) == 1


async def test_refusals_fail_at_once_and_outages_after_the_retries(
    sdk: AsyncOpenAI, fake: FakeOpenAi
) -> None:
    fake.push_embeddings(Failure(401))
    sleeps: list[float] = []
    with pytest.raises(LlmRejectedError, match="401 invalid_api_key") as refused:
        await embedder(sdk, sleeps).embed(["a"])
    assert refused.value.status == 401
    assert sleeps == []
    fake.push_embeddings(*[Failure(503)] * 3)
    with pytest.raises(LlmUnavailableError, match="gave up after 3 attempts") as down:
        await embedder(sdk, sleeps, max_retries=2).embed(["a"])
    assert not isinstance(down.value, LlmRejectedError)


def test_the_environment_sets_the_retries_of_the_openai_embedder() -> None:
    chosen = embedder_from_env(
        {
            "OPENAI_API_KEY": "sk-x",
            "BDG_LLM_MAX_RETRIES": "2",
            "BDG_LLM_BACKOFF_SECONDS": "0.25",
            "BDG_LLM_BACKOFF_MAX_SECONDS": "4",
        }
    )
    assert isinstance(chosen, OpenAiEmbedder)
    assert chosen.max_retries == 2
    assert chosen._backoff is not None
    assert (chosen._backoff.base, chosen._backoff.cap) == (0.25, 4.0)
