"""The client's settings from the environment, and its retry policy."""

from __future__ import annotations

import httpx
import openai
import pytest

from bdg_llm.retries import Backoff, describe, is_transient, retry_after
from bdg_llm.settings import DEFAULT_CHAT_MODEL, NO_KEY, LlmSettings

pytestmark = pytest.mark.timeout(10)


def test_defaults_need_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "BDG_MODEL_PLANNER", "BDG_MODEL_EMBEDDINGS"):
        monkeypatch.delenv(name, raising=False)
    settings = LlmSettings()
    assert settings.openai_base_url is None
    assert settings.api_key() == NO_KEY
    assert {settings.model_for(r) for r in ("planner", "critic", "coder", "reviewer")} == {
        DEFAULT_CHAT_MODEL
    }
    assert settings.bdg_model_embeddings == "text-embedding-3-small"


def test_environment_sets_endpoint_key_models_and_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8012/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("BDG_MODEL_CRITIC", "gpt-4.1")
    monkeypatch.setenv("BDG_MODEL_EMBEDDINGS", "minilm")
    monkeypatch.setenv("BDG_LLM_TIMEOUT_SECONDS", "5")
    monkeypatch.setenv("BDG_LLM_MAX_RETRIES", "0")
    settings = LlmSettings()
    assert settings.openai_base_url == "http://127.0.0.1:8012/v1"
    assert settings.api_key() == "sk-secret"
    assert "sk-secret" not in repr(settings)
    assert settings.model_for("critic") == "gpt-4.1"
    assert settings.model_for("planner") == DEFAULT_CHAT_MODEL
    assert settings.bdg_model_embeddings == "minilm"
    assert (settings.bdg_llm_timeout_seconds, settings.bdg_llm_max_retries) == (5.0, 0)


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    low, high = Backoff(1.0, 5.0, lambda: 0.0), Backoff(1.0, 5.0, lambda: 1.0)
    assert [low.delay(n) for n in range(4)] == [0.5, 1.0, 2.0, 2.5]
    assert [high.delay(n) for n in range(4)] == [1.0, 2.0, 4.0, 5.0]
    assert low.delay(0, asked=3.0) == 3.0  # the server's delay wins
    assert low.delay(0, asked=60.0) == 5.0  # within the cap


def _status_error(status: int, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    request = httpx.Request("POST", "http://x/v1/chat/completions")
    response = httpx.Response(status, headers=headers or {}, request=request)
    body = {"message": "slow down", "type": "requests", "code": "rate_limit_exceeded"}
    return openai.APIStatusError("Error code", response=response, body=body)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "transient"),
    [
        (400, False),
        (401, False),
        (404, False),
        (408, True),
        (409, True),
        (429, True),
        (500, True),
        (503, True),
    ],
)
def test_which_statuses_are_retried(status: int, transient: bool) -> None:
    assert is_transient(_status_error(status)) is transient


def test_retry_after_headers() -> None:
    assert retry_after(_status_error(429, {"retry-after": "7"})) == 7.0
    assert retry_after(_status_error(429, {"retry-after-ms": "250", "retry-after": "7"})) == 0.25
    assert retry_after(_status_error(429, {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0
    assert retry_after(_status_error(429, {"retry-after": "soon"})) is None
    assert retry_after(_status_error(429)) is None
    assert describe(_status_error(429)) == "429 rate_limit_exceeded: slow down"
