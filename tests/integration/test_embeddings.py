"""Embeddings: the offline model for real (all-MiniLM-L6-v2 int8 on onnxruntime), and the OpenAI
embedder against a local server speaking the documented `/v1/embeddings` API."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from openai import AsyncOpenAI

from bdg_llm.embeddings import (
    BATCH,
    MAX_TOKENS,
    ONNX_MODEL,
    SPREAD,
    TOKENIZER,
    EmbeddingModelError,
    OfflineEmbedder,
    OpenAiEmbedder,
    embedder_from_env,
    locate,
    model_session,
    windows_of,
)

pytestmark = pytest.mark.timeout(60)


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))  # both are unit vectors


@pytest.fixture(scope="module")
def offline() -> OfflineEmbedder:
    return OfflineEmbedder()


async def test_offline_vectors_have_384_dims_and_unit_norm(offline: OfflineEmbedder) -> None:
    texts = ["Reverse a linked list in place.", "", "naïve café — ünïcode ✓", "x" * 5000]
    vectors = await offline.embed(texts)
    assert (offline.model_name, offline.dims) == ("all-MiniLM-L6-v2-int8", 384)
    assert [len(v) for v in vectors] == [384] * 4
    assert all(math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, abs_tol=1e-5) for v in vectors)


async def test_similar_sentences_are_closer_than_unrelated_ones(offline: OfflineEmbedder) -> None:
    cat, kitten, market, code, code2 = await offline.embed(
        [
            "A cat sits on the mat.",
            "A kitten is resting on a rug.",
            "The stock market fell sharply today.",
            "def add(a, b): return a + b",
            "function that sums two numbers",
        ]
    )
    assert cosine(cat, kitten) > 0.5
    assert cosine(cat, kitten) > cosine(cat, market) + 0.3
    assert cosine(code, code2) > cosine(code, market)
    assert cosine(code, code2) > cosine(code, kitten)


async def test_a_text_gets_the_same_vector_alone_or_in_a_padded_batch(
    offline: OfflineEmbedder,
) -> None:
    # Mean pooling must ignore the padding that a longer neighbour adds.
    texts = ["short one", *(f"a much longer sentence number {i} about trees" for i in range(40))]
    batched = await offline.embed(texts)  # spans two onnxruntime batches
    assert len(texts) > BATCH
    alone = await offline.embed(texts[:1])
    assert cosine(batched[0], alone[0]) > 0.99999
    assert await offline.embed([]) == []


def test_a_model_file_that_is_not_the_pinned_one_is_refused() -> None:
    assert locate(ONNX_MODEL).stat().st_size == 22_928_619
    assert locate(TOKENIZER).name == "tokenizer.json"
    with pytest.raises(EmbeddingModelError, match=r"not the pinned 0000.*refusing"):
        locate(replace(TOKENIZER, sha256="0" * 64))
    with pytest.raises(EmbeddingModelError, match=r"install bdg-llm\[embeddings\]"):
        locate(replace(TOKENIZER, distribution="bdg-no-such-package"))


class EmbeddingsApi(BaseHTTPRequestHandler):
    """`POST /v1/embeddings` as documented: `data` items with `index`, here in reverse order."""

    requests: list[dict[str, Any]]

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append(body)
        inputs = body["input"]
        data = [
            {"object": "embedding", "index": i, "embedding": [float(len(text)), float(i), 0.0]}
            for i, text in enumerate(inputs)
        ]
        answer = {
            "object": "list",
            "data": data[::-1],
            "model": body["model"],
            "usage": {"prompt_tokens": len(inputs), "total_tokens": len(inputs)},
        }
        payload = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def api() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    handler = type("Handler", (EmbeddingsApi,), {"requests": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", seen
    server.shutdown()
    server.server_close()


@pytest.fixture
async def sdk(api: tuple[str, list[dict[str, Any]]]) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=api[0], api_key="sk-test", max_retries=0) as client:
        yield client


async def test_the_openai_embedder_keeps_the_order_of_the_texts(
    sdk: AsyncOpenAI, api: tuple[str, list[dict[str, Any]]]
) -> None:
    embedder = OpenAiEmbedder(sdk, dims=3)
    assert await embedder.embed(["a", "bbb", "cc"]) == [[1, 0, 0], [3, 1, 0], [2, 2, 0]]
    assert api[1] == [
        {
            "model": "text-embedding-3-small",
            "input": ["a", "bbb", "cc"],
            "encoding_format": "base64",
        }
    ]


async def test_the_openai_embedder_refuses_vectors_of_another_length(sdk: AsyncOpenAI) -> None:
    assert OpenAiEmbedder(sdk).dims == 1536
    with pytest.raises(ValueError, match="not 1536 long"):
        await OpenAiEmbedder(sdk).embed(["a"])
    with pytest.raises(ValueError, match="unknown"):
        OpenAiEmbedder(sdk, "my-embedder")


def test_the_embedder_is_chosen_from_the_environment() -> None:
    assert isinstance(embedder_from_env({}), OfflineEmbedder)
    assert isinstance(embedder_from_env({"OPENAI_API_KEY": "sk-x"}), OpenAiEmbedder)
    offline = {"OPENAI_API_KEY": "local", "BDG_EMBEDDINGS": "offline"}  # as `bdg up` sets it
    assert isinstance(embedder_from_env(offline), OfflineEmbedder)
    large = {"BDG_EMBEDDINGS": "openai", "BDG_MODEL_EMBEDDINGS": "text-embedding-3-large"}
    assert embedder_from_env({**large, "OPENAI_API_KEY": "sk-x"}).dims == 3072
    with pytest.raises(ValueError, match="choose auto, offline, offline-static, openai"):
        embedder_from_env({"BDG_EMBEDDINGS": "gpu"})


async def test_a_text_longer_than_the_window_is_embedded_whole(offline: OfflineEmbedder) -> None:
    # ~1,200 WordPiece tokens about sorting, then a last function about something else: the
    # model reads 256 tokens at a time, and the tail must still move the vector.
    head = "".join(
        f"def sort_step_{n}(items):\n    return sorted(items, key=lambda x: x[{n}])\n"
        for n in range(60)
    )
    tail = "def open_database(url):\n    return psycopg.connect(url, autocommit=True)\n"
    other = "def send_email(to, body):\n    smtp.sendmail('me@example.com', to, body)\n"
    question = "open a connection to the PostgreSQL database"
    with_tail, with_other, alone, asked = await offline.embed(
        [head + tail, head + other, head, question]
    )
    assert cosine(with_tail, with_other) < 0.999  # truncated, both were the head's vector
    assert cosine(asked, with_tail) > cosine(asked, with_other) + 0.01
    assert cosine(asked, with_tail) > cosine(asked, alone) + 0.01


def test_windows_cover_every_token_once() -> None:
    assert windows_of([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    assert windows_of([1, 2], 2) == [[1, 2]]
    assert windows_of([], 254) == [[]]


async def test_one_window_is_the_old_truncation_and_zero_is_refused() -> None:
    first_only = OfflineEmbedder(max_windows=1)
    head = "word " * 400
    a, b = await first_only.embed([head + "alpha beta", head + "gamma delta"])
    assert cosine(a, b) > 0.99999  # the tails were never read
    with pytest.raises(ValueError, match="max_windows"):
        OfflineEmbedder(max_windows=0)


async def test_batched_vectors_are_the_vectors_of_each_text_alone() -> None:
    # One call sorts every window of every text by length and runs them together; each text's
    # vector must still be its own, in its place (int8 quantisation scales per run: float noise).
    embedder = OfflineEmbedder()
    code = "".join(f"def step_{n}(items):\n    return [i * {n} for i in items]\n" for n in range(9))
    code *= 5
    texts = [
        code,  # several windows, the last one short
        "Reverse a linked list in place.",
        "",
        code[:700] + "\n# a tail about parsing HTTP headers\n",
        "naïve café — ünïcode ✓ " * 30,
        "SELECT id FROM chunks WHERE tenant = %s",
    ]
    batched = await embedder.embed(texts)
    alone = [(await embedder.embed([text]))[0] for text in texts]
    for together, single in zip(batched, alone, strict=True):
        assert cosine(together, single) > 0.99999
        assert max(abs(a - b) for a, b in zip(together, single, strict=True)) < 1e-3
    assert cosine(batched[0], batched[3]) < 0.999  # distinct texts, not one vector repeated


async def test_a_mix_of_long_and_short_texts_is_run_with_little_padding() -> None:
    embedder = OfflineEmbedder()
    texts = [("word " * 300) if n % 2 else f"short text {n}" for n in range(40)]
    await embedder.embed(texts)
    # every token once, plus [CLS] and [SEP] per window
    ids = embedder.token_ids(texts)
    assert embedder.tokens == sum(len(i) + 2 * len(windows_of(i, MAX_TOKENS - 2)) for i in ids)
    assert embedder.padded_tokens <= embedder.tokens / SPREAD


def test_the_session_runs_on_the_given_threads_without_spinning() -> None:
    options = model_session(1).get_session_options()
    assert options.intra_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
