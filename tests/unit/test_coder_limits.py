"""The coder's limits follow the served model's context size wherever the stack starts: `bdg up`
and `bdg demo --live` give the services the local model's context, and the coder scales its
steps, conversation and tool results to it; explicit settings still win."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bdg_coder.limits import limits_for_context
from bdg_coder.loop_decisions import LoopLimits
from bdg_coder.main import CoderSettings
from bdg_coder.strategy import Strategy
from bdg_llm.local_server import CONTEXT, LocalModelServer
from bdg_llm.settings import LlmSettings
from bdg_runtime.local_llm import service_env

pytestmark = pytest.mark.timeout(10)


@pytest.fixture(name="server")
def server_fixture(tmp_path: Path) -> Iterator[LocalModelServer]:
    """A local model server as `bdg up` holds it (its process: a stand-in that exits at once)."""
    proc = subprocess.Popen(["true"])
    yield LocalModelServer("http://127.0.0.1:9", "qwen", "key", tmp_path / "log", proc)
    proc.wait(5)


def coder_limits_under(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, strategy: Strategy = Strategy.loop
) -> LoopLimits:
    for name in ("BDG_CODER_MAX_STEPS", "BDG_CODER_CONTEXT_CHARS", "BDG_CODER_RESULT_CHARS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return CoderSettings().limits(LlmSettings().bdg_llm_context_tokens, strategy)


def test_the_offline_model_gets_limits_for_its_4096_tokens(
    server: LocalModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = service_env(server, env={})
    assert env["BDG_LLM_CONTEXT_TOKENS"] == str(CONTEXT) == "4096"
    limits = coder_limits_under(env, monkeypatch)
    assert limits == LoopLimits(max_steps=6, result_chars=2048, context_chars=7168)


@pytest.mark.parametrize("strategy", [Strategy.pipeline, Strategy.rewrite])
def test_the_pipelines_keep_their_steps_under_a_small_context(
    server: LocalModelServer, monkeypatch: pytest.MonkeyPatch, strategy: Strategy
) -> None:
    """Their calls share no conversation: the context bounds what each shows, not how many
    there are (explicit settings still win)."""
    env = service_env(server, env={})
    limits = coder_limits_under(env, monkeypatch, strategy)
    assert limits == LoopLimits(max_steps=25, result_chars=2048, context_chars=7168)
    env["BDG_CODER_MAX_STEPS"] = "8"
    assert coder_limits_under(env, monkeypatch, strategy).max_steps == 8


def test_explicit_settings_still_win(
    server: LocalModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**service_env(server, env={}), "BDG_CODER_MAX_STEPS": "12"}
    env["BDG_CODER_CONTEXT_CHARS"] = "9000"
    limits = coder_limits_under(env, monkeypatch)
    assert (limits.max_steps, limits.context_chars, limits.result_chars) == (12, 9000, 2048)


def test_a_large_or_unknown_model_keeps_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BDG_LLM_CONTEXT_TOKENS", raising=False)
    assert coder_limits_under({}, monkeypatch) == LoopLimits()
    assert limits_for_context(128_000) == LoopLimits()
    assert limits_for_context(32_768) == LoopLimits()


@pytest.mark.parametrize("tokens", [512, 2048, 4096, 8192, 16_384, 32_767])
def test_smaller_contexts_get_no_more_than_larger_ones(tokens: int) -> None:
    small, large = limits_for_context(tokens), limits_for_context(tokens * 2)
    assert small.max_steps <= large.max_steps
    assert small.context_chars < large.context_chars or large == LoopLimits()
    assert small.result_chars * 3 <= small.context_chars  # a result leaves room for the rest
