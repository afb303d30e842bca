"""The offline model server, for real: Qwen2.5-Coder-0.5B on llama.cpp, reached with the openai
SDK as every service reaches it; answers kept short so the suite stays fast."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Literal

import openai
import psutil
import pytest
from openai import AsyncOpenAI
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from bdg_llm.api import ChatRequest, Message
from bdg_llm.local_model import MODELS, LocalModelConfig, is_installed, resolve_model
from bdg_llm.local_server import LocalModelServer, LocalServerError, ServerOptions, start
from bdg_llm.openai_client import OpenAiClient
from bdg_llm.settings import LlmSettings
from bdg_llm.toolcalls import chat_tools
from bdg_planner.llm_adapters import CRITIC_TOKENS, SENTENCE_CHARS, CritiqueAnswer
from bdg_runtime.embedded import start_embedded
from bdg_runtime.local_llm import ensure_local_model_server, server_options, service_env
from bdg_runtime.settings import Settings
from tests.waiting import eventually, wait_until

KEY = "test-key"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def models_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="bdg-model-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def server(models_dir: Path) -> Iterator[LocalModelServer]:
    model = resolve_model(LocalModelConfig(), models_dir)
    with start(model, models_dir / "server.log", ServerOptions(api_key=KEY)) as running:
        yield running


@pytest.fixture
async def client(server: LocalModelServer) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=server.openai_base_url, api_key=KEY, max_retries=0) as sdk:
        yield sdk


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    language: Literal["python", "javascript", "go", "rust"]
    lines: int = Field(ge=0, le=100)
    summary: str = Field(max_length=80)


async def test_the_server_announces_its_model(
    client: AsyncOpenAI, server: LocalModelServer
) -> None:
    models = [m.id async for m in client.models.list()]
    assert models == ["qwen2.5-coder-0.5b-instruct-q4_k_m"] == [server.model]


async def test_a_chat_completion_through_the_openai_sdk(client: AsyncOpenAI) -> None:
    reply = await client.chat.completions.create(
        model="any",  # one model per server: the name is not checked
        messages=[{"role": "user", "content": "What is 2 + 3? Answer with the number only."}],
        max_tokens=8,
        temperature=0,
    )
    assert reply.choices[0].message.content is not None
    assert "5" in reply.choices[0].message.content
    assert reply.model == "qwen2.5-coder-0.5b-instruct-q4_k_m"
    assert reply.usage is not None
    assert reply.usage.prompt_tokens > 5
    assert 0 < reply.usage.completion_tokens <= 8


async def test_a_json_schema_constrained_answer_validates(client: AsyncOpenAI) -> None:
    schema = Verdict.model_json_schema()
    reply = await client.chat.completions.create(
        model="any",
        messages=[
            {"role": "system", "content": "Describe the code you are shown, as JSON."},
            {"role": "user", "content": "def add(a, b):\n    return a + b\n"},
        ],
        max_tokens=60,
        temperature=0,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "verdict", "schema": schema, "strict": True},
        },
    )
    content = reply.choices[0].message.content
    assert content is not None
    assert reply.choices[0].finish_reason == "stop", content  # complete, not cut off
    verdict = Verdict.model_validate_json(content)
    assert verdict.language == "python"


async def test_answers_stream(client: AsyncOpenAI) -> None:
    stream = await client.chat.completions.create(
        model="any",
        messages=[{"role": "user", "content": "Count: 1, 2, 3"}],
        max_tokens=6,
        temperature=0,
        stream=True,
    )
    deltas = [c.choices[0].delta.content async for c in stream if c.choices]
    assert len([d for d in deltas if d]) >= 2


async def test_a_request_without_the_key_is_refused(server: LocalModelServer) -> None:
    async with AsyncOpenAI(base_url=server.openai_base_url, api_key="wrong") as sdk:
        with pytest.raises(openai.AuthenticationError):
            await sdk.chat.completions.create(
                model="any", messages=[{"role": "user", "content": "hi"}], max_tokens=1
            )


class FileRead(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(max_length=100)


class RunTests(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: str = Field(max_length=100)


def service_client(server: LocalModelServer) -> OpenAiClient:
    """The model client a service builds, pointed at the server for the planner and coder."""
    settings = LlmSettings(
        openai_base_url=server.openai_base_url,
        openai_api_key=SecretStr(KEY),
        bdg_model_planner=server.model,
        bdg_model_coder=server.model,
    )
    return OpenAiClient(settings)


async def test_the_model_client_of_every_service_works_against_it(
    server: LocalModelServer,
) -> None:
    client = service_client(server)
    try:
        ask = ChatRequest(role="coder", messages=(Message("user", "Say hi."),), max_tokens=5)
        result = await client.chat(ask)
        assert result.content
        assert (result.model, result.cost_usd) == (server.model, 0.0)
        code = Message("user", "def add(a, b):\n    return a + b\n")
        review = ChatRequest(role="planner", messages=(code,), max_tokens=60)
        verdict, _ = await client.structured(review, Verdict)
        assert verdict.language == "python"
        run = Message("user", "Run the tests in tests/test_api.py")
        choice = await chat_tools(
            client,
            ChatRequest(role="coder", messages=(run,), max_tokens=60),
            {"file_read": FileRead, "run_tests": RunTests},
        )
        assert choice.tool == "run_tests"
        assert choice.arguments == RunTests(target="tests/test_api.py")
    finally:
        await client.close()


async def test_the_critic_s_grammar_ends_each_sentence_at_its_bound(
    server: LocalModelServer,
) -> None:
    client = service_client(server)
    long = " ".join(["the parser never checks the input before it reads the next field"] * 4)
    loop = f'Answer with score 5, no changes and one risk, this text copied exactly: "{long}"'
    ask = ChatRequest(
        role="planner",
        messages=(Message("system", "Answer as JSON."), Message("user", loop)),
        max_tokens=CRITIC_TOKENS,
    )
    try:
        answer, result = await client.structured(ask, CritiqueAnswer)
    finally:
        await client.close()
    assert result.completion_tokens < CRITIC_TOKENS  # ended by the grammar, not cut
    sentences = answer.risks + answer.changes
    assert sentences
    assert all(len(sentence) <= SENTENCE_CHARS for sentence in sentences)
    assert max(map(len, sentences)) == SENTENCE_CHARS  # the model ran on; the bound stopped it


def slot(server: LocalModelServer) -> tuple[bool, int]:
    """The server's one slot: busy or not, and the tokens of its answer so far."""
    ask = urllib.request.Request(
        server.base_url + "/slots", headers={"Authorization": f"Bearer {KEY}"}
    )
    with urllib.request.urlopen(ask, timeout=10) as answer:
        [found] = json.loads(answer.read())
    decoded = (found.get("next_token") or [{}])[0].get("n_decoded", 0)
    return bool(found["is_processing"]), int(decoded)


async def test_a_cancelled_call_stops_the_generation_at_once(server: LocalModelServer) -> None:
    """A job cancelled mid-answer frees the model for the next job: its call is streamed
    (BDG_LLM_STREAM, as bdg up sets it), and the server stops a stream whose client went. A
    non-streamed answer ran on to its max_tokens for nobody."""
    settings = LlmSettings(
        openai_base_url=server.openai_base_url,
        openai_api_key=SecretStr(KEY),
        bdg_model_coder=server.model,
        bdg_llm_stream=True,
    )
    client = OpenAiClient(settings)
    count = Message("user", "Count from 1 to 5000, one number per line.")
    cap = 400
    call = asyncio.create_task(client.chat(ChatRequest("coder", (count,), max_tokens=cap)))
    try:

        async def answering() -> bool:
            busy, decoded = await asyncio.to_thread(slot, server)
            return busy and decoded >= 10

        await eventually(answering, 120, "the answer under way")
        call.cancel()
        highest = 0

        async def stopped() -> bool:
            nonlocal highest
            busy, decoded = await asyncio.to_thread(slot, server)
            highest = max(highest, decoded if busy else 0)
            return not busy

        await eventually(stopped, 180, "the slot free again")
        assert highest < cap // 2  # stopped where it was, not run on to its cap
        assert call.cancelled()
    finally:
        call.cancel()
        await client.close()


COPIED = "\n".join(f"total_{i} = add(total_{i - 1}, prices[{i}])" for i in range(1, 13))


async def repeated(base_url: str) -> tuple[str, dict[str, float]]:
    """A copy-heavy answer (as a rewrite's is) and llama.cpp's timings of it."""
    async with AsyncOpenAI(base_url=base_url, api_key=KEY, max_retries=0) as sdk:
        reply = await sdk.chat.completions.create(
            model="local",
            messages=[{"role": "user", "content": f"Repeat this code exactly:\n{COPIED}"}],
            max_tokens=96,
            temperature=0,
            seed=42,
        )
    return reply.choices[0].message.content or "", dict(reply.model_extra or {})["timings"]


async def test_speculative_decoding_drafts_from_the_prompt_and_keeps_the_model_s_answer(
    server: LocalModelServer, models_dir: Path
) -> None:
    """BDG_LOCAL_MODEL_SPECULATIVE: the n-gram drafter proposes what the prompt holds, the
    model checks each draft, so the answer is the one it gives without speculation."""
    plain, plain_timings = await repeated(server.openai_base_url)
    assert "draft_n" not in plain_timings or plain_timings["draft_n"] == 0
    model = resolve_model(LocalModelConfig(), models_dir)
    options = ServerOptions(api_key=KEY, speculative="ngram-simple")
    with start(model, models_dir / "speculative.log", options) as speculating:
        answer, timings = await repeated(speculating.openai_base_url)
    assert timings["draft_n"] > 0
    assert timings["draft_n_accepted"] > 0
    assert answer == plain
    assert "total_5 = add(total_4, prices[5])" in answer  # copied, as drafted


def test_the_draft_mode_drafts_with_the_pinned_0_5b(models_dir: Path) -> None:
    large = LocalModelConfig.from_env(
        {"BDG_LOCAL_MODEL_SIZE": "1.5b", "BDG_LOCAL_MODEL_SPECULATIVE": "draft"}
    )
    options = server_options(large, models_dir)
    assert options.speculative == "draft"
    assert options.draft_model == models_dir / f"{MODELS['0.5b'].name}.gguf"
    plain = server_options(LocalModelConfig.from_env({"BDG_LOCAL_MODEL_THREADS": "1"}), models_dir)
    assert (plain.speculative, plain.draft_model, plain.threads) == ("none", None, 1)
    assert plain.api_key != server_options(LocalModelConfig(), models_dir).api_key  # fresh


STARTER = """
import sys
from pathlib import Path
from bdg_llm.local_model import LocalModelConfig, resolve_model
from bdg_llm.local_server import start
server = start(resolve_model(LocalModelConfig(), Path(sys.argv[1])), Path(sys.argv[1]) / "s.log")
print(server.pid, flush=True)
sys.stdin.read()
"""


def test_the_server_goes_when_the_process_that_started_it_is_killed(models_dir: Path) -> None:
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(models_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert starter.stdout is not None
        pid = int(starter.stdout.readline())
        server = psutil.Process(pid)
        assert "bdg_llm.local_server" in " ".join(server.cmdline())
    finally:
        starter.kill()  # SIGKILL: no cleanup code runs in the starter
        starter.wait()
    wait_until(lambda: not psutil.pid_exists(pid), timeout=20, what="the server to exit")


def test_a_server_that_cannot_start_says_why(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + bytes(1000))  # the magic, then nothing a loader can read
    model = resolve_model(LocalModelConfig(own_file=broken), tmp_path)
    with pytest.raises(LocalServerError, match=r"exited with code .*log tail"):
        start(model, tmp_path / "server.log", ServerOptions(start_timeout=60))


def test_bdg_up_serves_the_local_model_when_no_endpoint_is_set(models_dir: Path) -> None:
    lines: list[str] = []
    settings = Settings(bdg_home=models_dir.parent / f"{models_dir.name}-home")
    url, server = ensure_local_model_server(settings, env={}, say=lines.append)
    try:
        assert server is not None
        assert url == server.openai_base_url
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/v1")
        assert (settings.bdg_home / "models" / f"{MODELS['0.5b'].name}.gguf").exists()
        env = service_env(server, env={"BDG_MODEL_CODER": "gpt-4o"})
        assert env["OPENAI_BASE_URL"] == url
        assert env["OPENAI_API_KEY"] == server.api_key
        assert len(env["OPENAI_API_KEY"]) >= 24  # a fresh key per run, not a fixed one
        assert env["BDG_EMBEDDINGS"] == "offline"
        static = service_env(server, env={"BDG_EMBEDDINGS": "offline-static"})
        assert static["BDG_EMBEDDINGS"] == "offline-static"  # the static space stands
        # an endpoint's embeddings cannot be asked of the local chat model
        assert service_env(server, env={"BDG_EMBEDDINGS": "openai"})["BDG_EMBEDDINGS"] == "offline"
        assert env["BDG_LLM_CONTEXT_TOKENS"] == "4096"  # the coder's limits follow it
        assert env["BDG_LLM_STREAM"] == "true"  # a cancelled call stops its generation
        assert env["BDG_PLAN_FORMAT"] == "steps"  # drafts bounded by their schema
        assert env["BDG_MODEL_PLANNER"] == server.model
        assert "BDG_MODEL_CODER" not in env  # the user's choice stands
        assert any("served offline" in line for line in lines)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(settings.bdg_home, ignore_errors=True)


def test_a_configured_endpoint_starts_nothing(tmp_path: Path) -> None:
    settings = Settings(bdg_home=tmp_path)
    configured = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    assert ensure_local_model_server(settings, configured) == ("http://127.0.0.1:9/v1", None)
    assert ensure_local_model_server(settings, {"OPENAI_API_KEY": "sk-x"}) == (None, None)
    lines: list[str] = []
    recorded = {"BDG_LLM_RECORDINGS": str(tmp_path / "calls.jsonl")}
    assert ensure_local_model_server(settings, recorded, say=lines.append) == (None, None)
    assert lines == [
        f"model: answers from the recorded calls in {tmp_path}/calls.jsonl; none served"
    ]
    assert service_env(None) == {}
    assert not (tmp_path / "models").exists()


def test_without_the_model_extra_bdg_up_says_no_model_is_available(tmp_path: Path) -> None:
    if is_installed(MODELS["1.5b"]):
        pytest.skip("the local-large extra is installed here")
    lines: list[str] = []
    env = {"BDG_LOCAL_MODEL_SIZE": "1.5b"}
    assert ensure_local_model_server(Settings(bdg_home=tmp_path), env, lines.append) == (
        None,
        None,
    )
    assert "no model available" in lines[0]
    assert "install bdg-llm[local-large]" in lines[0]
    assert "recorded calls" in lines[0]


def test_a_model_that_cannot_be_used_is_reported_and_bdg_up_goes_on(tmp_path: Path) -> None:
    lines: list[str] = []
    (tmp_path / "notes.txt").write_text("not a model")
    env = {"BDG_LOCAL_MODEL": str(tmp_path / "notes.txt")}
    assert ensure_local_model_server(Settings(bdg_home=tmp_path), env, lines.append) == (
        None,
        None,
    )
    assert lines == [
        f"no model available: BDG_LOCAL_MODEL={tmp_path}/notes.txt is not a GGUF file; "
        "services can only answer from recorded calls"
    ]


SERVICE = """
import json, os, signal, urllib.request
request = urllib.request.Request(os.environ["OPENAI_BASE_URL"] + "/models")
request.add_header("Authorization", "Bearer " + os.environ["OPENAI_API_KEY"])
with urllib.request.urlopen(request, timeout=10) as response:
    print("model:", json.load(response)["data"][0]["id"], flush=True)
signal.pause()
"""
DRIVER = """
import sys
from pathlib import Path
from bdg_cli.up import up
sys.exit(up(Path(sys.argv[1]), [], commands={"svc": [sys.executable, "-c", sys.argv[2]]}))
"""


async def test_services_under_bdg_up_reach_the_local_model(models_dir: Path) -> None:
    home = Path(tempfile.mkdtemp(prefix="bdg-up-model-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BDG_"))}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", DRIVER, str(home), SERVICE,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    seen: list[str] = []
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(120):
            while "[svc] model: qwen2.5-coder-0.5b-instruct-q4_k_m" not in seen:
                line = await proc.stdout.readline()
                assert line, "`bdg up` ended early:\n" + "\n".join(seen)
                seen.append(line.decode().rstrip("\n"))
        servers = [
            p
            for p in psutil.process_iter(["cmdline"])
            if "bdg_llm.local_server" in " ".join(p.info["cmdline"] or [])
            and str(home) in " ".join(p.info["cmdline"] or [])
        ]
        assert len(servers) == 1
        proc.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, "\n".join(seen) + rest.decode()
        assert "stopping the local model server" in rest.decode()
        assert not servers[0].is_running()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        stop_leftovers(home)
        shutil.rmtree(home, ignore_errors=True)


def stop_leftovers(home: Path) -> None:
    # A failed test must not leave servers behind: take the stack over, then stop it.
    state = home / "stack.json"
    nats_pid = json.loads(state.read_text())["nats_pid"] if state.exists() else None
    if (nats_pid and psutil.pid_exists(nats_pid)) or (home / "pg" / "postmaster.pid").exists():
        start_embedded(home).stop()


INDEXER = """
import os, signal
print("model url:", os.environ.get("OPENAI_BASE_URL", "none"), flush=True)
signal.pause()
"""
INDEXER_DRIVER = """
import sys
from pathlib import Path
from bdg_cli.up import up
command = [sys.executable, "-c", sys.argv[2]]
sys.exit(up(Path(sys.argv[1]), ["indexer"], commands={"indexer": command}, sandbox=False))
"""


async def test_bdg_up_starts_no_model_for_the_indexer_alone(models_dir: Path) -> None:
    home = Path(tempfile.mkdtemp(prefix="bdg-up-nomodel-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BDG_"))}
    assert is_installed(MODELS[LocalModelConfig().size])  # a model that could have been started
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", INDEXER_DRIVER, str(home), INDEXER,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    seen: list[str] = []
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(120):
            while not any(line.startswith("[indexer] model url:") for line in seen):
                line = await proc.stdout.readline()
                assert line, "`bdg up` ended early:\n" + "\n".join(seen)
                seen.append(line.decode().rstrip("\n"))
        assert "[indexer] model url: none" in seen, seen
        assert "[up] model: none started (indexer call no chat model)" in seen
        servers = [
            p
            for p in psutil.process_iter(["cmdline"])
            if "bdg_llm.local_server" in " ".join(p.info["cmdline"] or [])
            and str(home) in " ".join(p.info["cmdline"] or [])
        ]
        assert servers == []
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        stop_leftovers(home)
        shutil.rmtree(home, ignore_errors=True)
