"""What the offline model does on this machine: speed, JSON-schema adherence, small coding tasks.

Starts the local model server (as `bdg up` does) and talks to it through the openai SDK:
- prompt and generation speed in tokens/s (llama.cpp's own timings, and wall clock);
- JSON-schema adherence: the same critic-style questions with the schema enforced through
  `response_format` and with the schema only described in the prompt;
- tool choice through a JSON schema of the tool union (how tool calls are got from small models);
- five small coding tasks whose answers are run against asserts (model-written code, run in a
  throwaway directory by `python -I` with a timeout; no sandbox, so keep the tasks harmless);
- the offline embedder's throughput on code chunks of 256 tokens.

    uv run python -m bench.local_model [--size 0.5b|1.5b] [--models-dir .bdg/models]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

from openai import AsyncOpenAI
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bdg_llm.local_model import LocalModelConfig, resolve_model
from bdg_llm.local_server import LocalModelServer, ServerOptions, start

KEY = "bench"


class Critique(BaseModel):
    model_config = ConfigDict(extra="forbid")
    score: int = Field(ge=1, le=10)
    risks: list[str] = Field(max_length=3)
    changes: list[str] = Field(max_length=3)


class FileRead(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tool: Literal["file_read"]
    path: str = Field(max_length=120)


class RunTests(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tool: Literal["run_tests"]
    target: str = Field(max_length=120)


class ListFiles(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tool: Literal["list_files"]
    directory: str = Field(max_length=120)


class ToolCall(BaseModel):
    call: FileRead | RunTests | ListFiles


PLANS = [
    "1. Add a /health endpoint. 2. Deploy to production.",
    "1. Rewrite the whole backend in Rust. 2. Ship tomorrow.",
    "1. Add input validation to the signup form. 2. Add unit tests. 3. Review.",
    "1. Store user passwords in plain text for easier debugging.",
    "1. Add pagination to /jobs. 2. Update the API docs. 3. Add an integration test.",
    "1. Delete the old migrations folder. 2. Run the app.",
    "1. Cache the price table in memory. 2. Invalidate it on config change.",
    "1. Upgrade the database driver. 2. Run the full test suite. 3. Roll out to 10%.",
    "1. Add a dark mode toggle.",
    "1. Log every request body, including auth headers, at INFO level.",
]
TOOL_PROMPTS = [
    ("Show me what is in src/app.py", "file_read"),
    ("Run the tests in tests/test_api.py", "run_tests"),
    ("Which files are in the docs directory?", "list_files"),
    ("Open README.md so I can read it", "file_read"),
    ("Check whether tests/unit pass", "run_tests"),
    ("List everything under services/", "list_files"),
]
TASKS = [
    (
        "Write a Python function `is_palindrome(s: str) -> bool` that ignores case and every "
        "character that is not a letter or digit.",
        "assert is_palindrome('A man, a plan, a canal: Panama')\n"
        "assert not is_palindrome('hello')\nassert is_palindrome('')",
    ),
    (
        "Write a Python function `fizzbuzz(n: int) -> list[str]` returning the FizzBuzz strings "
        "for 1..n ('Fizz' for multiples of 3, 'Buzz' of 5, 'FizzBuzz' of both, else the number).",
        "assert fizzbuzz(5) == ['1', '2', 'Fizz', '4', 'Buzz']\nassert fizzbuzz(15)[-1] == "
        "'FizzBuzz'",
    ),
    (
        "Write a Python function `flatten(items: list) -> list` that flattens arbitrarily nested "
        "lists.",
        "assert flatten([1, [2, [3, [4]], 5]]) == [1, 2, 3, 4, 5]\nassert flatten([]) == []",
    ),
    (
        "Write a Python function `word_counts(text: str) -> dict[str, int]` counting words "
        "case-insensitively, where words are runs of letters.",
        "assert word_counts('The cat and the hat.') == {'the': 2, 'cat': 1, 'and': 1, 'hat': 1}",
    ),
    (
        "Write a Python function `to_roman(n: int) -> str` converting 1..3999 to Roman numerals.",
        "assert to_roman(1994) == 'MCMXCIV'\nassert to_roman(4) == 'IV'\n"
        "assert to_roman(3999) == 'MMMCMXCIX'",
    ),
]


async def speed(sdk: AsyncOpenAI) -> None:
    lines = "\n".join(f"x{i} = compute({i}) + x{i - 1}" for i in range(60))
    prompt = "Explain this code.\n" + lines
    timings: list[dict[str, Any]] = []
    wall = time.perf_counter()
    for run in range(2):
        reply = await sdk.chat.completions.create(
            model="local",
            messages=[{"role": "user", "content": f"# run {run}\n{prompt}"}],  # no prompt cache
            max_tokens=128,
            temperature=0,
        )
        timings.append(dict((reply.model_extra or {}).get("timings") or {}))
    wall = time.perf_counter() - wall
    prompt_n = sum(t["prompt_n"] for t in timings)
    predicted_n = sum(t["predicted_n"] for t in timings)
    prompt_s = sum(t["prompt_ms"] for t in timings) / 1000
    predicted_s = sum(t["predicted_ms"] for t in timings) / 1000
    print(f"prompt      {prompt_n / prompt_s:6.1f} tokens/s  ({prompt_n} tokens)")
    print(f"generation  {predicted_n / predicted_s:6.1f} tokens/s  ({predicted_n} tokens)")
    print(f"wall clock  {wall:6.1f} s for both requests, end to end through the SDK")


async def adherence(sdk: AsyncOpenAI) -> None:
    schema = Critique.model_json_schema()
    system = "You review software plans. Answer as JSON: score 1-10, risks, changes."
    for label, constrained in (("constrained", True), ("prompt only", False)):
        valid, started = 0, time.perf_counter()
        for plan in PLANS:
            extra: dict[str, Any] = {}
            content = system
            if constrained:
                extra["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": "critique", "schema": schema, "strict": True},
                }
            else:
                content += " Follow this JSON schema exactly: " + json.dumps(schema)
            reply = await sdk.chat.completions.create(
                model="local",
                messages=[
                    {"role": "system", "content": content},
                    {"role": "user", "content": plan},
                ],
                max_tokens=200,
                temperature=0,
                **extra,
            )
            try:
                Critique.model_validate_json(reply.choices[0].message.content or "")
                valid += 1
            except ValidationError:
                pass
        took = (time.perf_counter() - started) / len(PLANS)
        print(f"schema {label:<12} {valid}/{len(PLANS)} valid critiques, {took:4.1f} s each")


async def tool_choice(sdk: AsyncOpenAI) -> None:
    schema = ToolCall.model_json_schema()
    right = valid = 0
    for prompt, expected in TOOL_PROMPTS:
        reply = await sdk.chat.completions.create(
            model="local",
            messages=[
                {"role": "system", "content": "Pick one tool call for the request."},
                {"role": "user", "content": prompt},
            ],
            max_tokens=80,
            temperature=0,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "tool_call", "schema": schema, "strict": True},
            },
        )
        try:
            call = ToolCall.model_validate_json(reply.choices[0].message.content or "").call
        except ValidationError:
            continue
        valid += 1
        right += call.tool == expected
        if call.tool != expected:
            print(f"  wrong tool {call.tool} for {prompt!r}")
    print(f"tool calls  {valid}/{len(TOOL_PROMPTS)} valid, {right}/{len(TOOL_PROMPTS)} right tool")


async def coding(sdk: AsyncOpenAI) -> None:
    passed, started = 0, time.perf_counter()
    for task, checks in TASKS:
        reply = await sdk.chat.completions.create(
            model="local",
            messages=[
                {"role": "system", "content": "Answer with one Python code block, no prose."},
                {"role": "user", "content": task},
            ],
            max_tokens=300,
            temperature=0,
        )
        code = reply.choices[0].message.content or ""
        if match := re.search(r"```(?:python)?\n(.*?)```", code, re.S):
            code = match[1]
        ok = run_checks(code, checks)
        passed += ok
        print(f"  {'pass' if ok else 'FAIL'}  {task.split('`')[1]}")
    took = (time.perf_counter() - started) / len(TASKS)
    print(f"coding      {passed}/{len(TASKS)} tasks pass their asserts, {took:4.1f} s each")


def embeddings() -> None:
    try:
        from bdg_llm.embeddings import OfflineEmbedder
    except ImportError:
        return
    embedder = OfflineEmbedder()
    embedder.embed_sync(["warm up"])
    line = "def handler(request):\n    return respond(request.body, status=200)  # reply in kind\n"
    chunks = [f"# chunk {i}\n" + line * 12 for i in range(64)]  # about 256 tokens each
    started = time.perf_counter()
    embedder.embed_sync(chunks)
    took = time.perf_counter() - started
    print(f"embeddings  {len(chunks) / took:6.1f} chunks/s of 256 tokens (all-MiniLM-L6-v2 int8)")


def run_checks(code: str, checks: str) -> bool:
    with tempfile.TemporaryDirectory() as scratch:
        try:
            done = subprocess.run(
                [sys.executable, "-I", "-c", code + "\n" + checks],
                cwd=scratch,
                env={},
                capture_output=True,
                timeout=10,
            )
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == 0


async def run(server: LocalModelServer) -> None:
    async with AsyncOpenAI(base_url=server.openai_base_url, api_key=KEY, timeout=300) as sdk:
        await speed(sdk)
        await adherence(sdk)
        await tool_choice(sdk)
        await coding(sdk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="0.5b", choices=["0.5b", "1.5b"])
    parser.add_argument("--models-dir", type=Path, default=Path(".bdg/models"))
    args = parser.parse_args()
    started = time.perf_counter()
    model = resolve_model(LocalModelConfig(size=args.size), args.models_dir)
    joined = time.perf_counter()
    options = ServerOptions(api_key=KEY)
    with start(model, args.models_dir / "bench-server.log", options) as server:
        ready = time.perf_counter()
        print(f"model       {model.name} ({model.path.stat().st_size / 1e6:.0f} MB)")
        print(f"start       {joined - started:4.1f} s join + verify, {ready - joined:4.1f} s load")
        asyncio.run(run(server))
    embeddings()


if __name__ == "__main__":
    main()
