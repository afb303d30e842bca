"""The indexer's settings, from the environment (README lists them)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IndexerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    bdg_home: Path = Field(default=Path(".bdg"), description="state dir of the embedded stack")
    bdg_index_dir: Path | None = Field(
        default=None, description="one git working copy per repository; unset: BDG_HOME/index"
    )
    bdg_index_batch: int = Field(
        default=64, ge=1, le=2048, description="chunks per embedding request (whole files)"
    )
    bdg_index_max_tokens: int | None = Field(
        default=None,
        ge=64,
        description="cap on a chunk's cl100k tokens; unset: from the embedding model's window",
    )
    bdg_index_git_timeout_seconds: float = Field(
        default=600.0, gt=0, description="one git clone or fetch at most"
    )
    bdg_index_timeout_seconds: float = Field(
        default=3600.0, gt=0, description="one indexing run at most (a redelivery resumes it)"
    )
    bdg_index_search_timeout_seconds: float = Field(
        default=10.0, gt=0, description="one search request at most"
    )

    def index_dir(self) -> Path:
        return (self.bdg_index_dir or self.bdg_home / "index").resolve()
