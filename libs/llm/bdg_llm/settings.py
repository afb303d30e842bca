"""The model client's settings, from the environment (README lists them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from bdg_llm.answer_bounds import DEFAULT_MAX_TOKENS, DEFAULT_SEED, AnswerBounds, coder_max_tokens
from bdg_llm.api import Role
from bdg_llm.prices import Price, PriceTable

DEFAULT_CHAT_MODEL = "gpt-4o-mini"
DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"
# The SDK insists on a key; local OpenAI-compatible servers ignore it.
NO_KEY = "no-key"


class LlmSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    openai_base_url: str | None = Field(
        default=None, description="OpenAI-compatible endpoint; unset = api.openai.com"
    )
    openai_api_key: SecretStr | None = Field(default=None, description="unset for local servers")
    bdg_model_planner: str = DEFAULT_CHAT_MODEL
    bdg_model_critic: str = DEFAULT_CHAT_MODEL
    bdg_model_coder: str = DEFAULT_CHAT_MODEL
    bdg_model_reviewer: str = DEFAULT_CHAT_MODEL
    bdg_model_embeddings: str = DEFAULT_EMBEDDING_MODEL
    bdg_budget_leases: bool = Field(
        default=True,
        description="pay model calls from leases (bdg_jobs.ledger.leased): one durable commit "
        "per call instead of two; a stopping service gives its unspent share back, a killed "
        "one's comes back when it expires. false: reserve and settle each call in the database",
    )
    bdg_llm_context_tokens: int | None = Field(
        default=None,
        ge=512,
        description="the served model's context (prompt + answer) in tokens; bdg up sets it for "
        "the offline model; unset: a large model. The coder's limits follow it",
    )
    bdg_llm_max_tokens: dict[Role, Annotated[int, Field(ge=16)]] = Field(
        default_factory=dict,
        description='JSON {"coder": 1024, ...}: the answer cap per role, for requests that set '
        "none (default: planner 600, critic 400, reviewer 400, coder a quarter of "
        "BDG_LLM_CONTEXT_TOKENS, at most 4096)",
    )
    bdg_llm_seed: int = Field(
        default=DEFAULT_SEED,
        ge=-1,
        description="sampling seed sent with every call, so local runs repeat; -1: none sent",
    )
    bdg_llm_stream: bool = Field(
        default=False,
        description="stream every answer, so a cancelled call stops the server's generation "
        "(bdg up sets it for the offline model, whose llama.cpp server stops only a stream)",
    )
    bdg_llm_timeout_seconds: float = Field(default=120.0, gt=0, description="per attempt")
    bdg_llm_max_retries: int = Field(
        default=4, ge=0, description="retries after a 429/5xx/timeout/connection failure"
    )
    bdg_llm_backoff_seconds: float = Field(
        default=1.0, ge=0, description="first retry delay; doubles each retry, with jitter"
    )
    bdg_llm_backoff_max_seconds: float = Field(
        default=30.0, ge=0, description="cap on any delay, Retry-After included"
    )
    bdg_llm_prices: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description='JSON {"model": [USD per 1M input, per 1M output]}, added to the list prices',
    )
    bdg_llm_recordings: Path | None = Field(
        default=None,
        description="JSON Lines file of recorded calls: every call is answered from it, no model",
    )
    bdg_llm_record: Path | None = Field(
        default=None, description="JSON Lines file every call to the endpoint is appended to"
    )

    def model_for(self, role: Role) -> str:
        models: dict[Role, str] = {
            "planner": self.bdg_model_planner,
            "critic": self.bdg_model_critic,
            "coder": self.bdg_model_coder,
            "reviewer": self.bdg_model_reviewer,
        }
        return models[role]

    def answer_bounds(self) -> AnswerBounds:
        caps: dict[Role, int] = {
            **DEFAULT_MAX_TOKENS,
            "coder": coder_max_tokens(self.bdg_llm_context_tokens),
            **self.bdg_llm_max_tokens,
        }
        return AnswerBounds(caps, None if self.bdg_llm_seed < 0 else self.bdg_llm_seed)

    def api_key(self) -> str:
        return self.openai_api_key.get_secret_value() if self.openai_api_key else NO_KEY

    def price_table(self) -> PriceTable:
        return PriceTable({name: Price(*pair) for name, pair in self.bdg_llm_prices.items()})
