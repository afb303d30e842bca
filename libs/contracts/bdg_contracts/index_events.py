"""A repository's index: registered, pushed to, (re)indexed. Events of the ``repo`` aggregate.

They share the job log (one outbox, one audit trail, one relay); their ``job_id`` is the
repository's id, ``repo_id(tenant, url)``: the same repository of one tenant is one aggregate.
"""

from __future__ import annotations

import re
import uuid
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from bdg_contracts.base import Contract, Event

_REPO_NAMESPACE = UUID("6b1d3c0e-4f3a-5b7e-9a51-62646769646b")
SHA = r"^[0-9a-f]{40}([0-9a-f]{24})?$"  # sha1, or sha256 repositories
Provider = Literal["github", "gitlab", "gitea", "cli"]


def normalize_repo(url: str) -> str:
    """One spelling per repository: no trailing slash or ``.git``, lower-case host."""
    url = url.strip().rstrip("/")
    url = re.sub(r"\.git$", "", url)
    match = re.match(r"^([a-z][a-z0-9+.-]*://)([^/]+)(.*)$", url, re.IGNORECASE)
    if match:
        scheme, host, rest = match.groups()
        url = f"{scheme.lower()}{host.lower()}{rest}"
    return url


def repo_id(tenant_id: str, url: str) -> UUID:
    return uuid.uuid5(_REPO_NAMESPACE, f"{tenant_id}\n{normalize_repo(url)}")


class RepoEvent(Event):
    aggregate: ClassVar[str] = "repo"


class IndexFilterSpec(Contract):
    """Which files are indexed: globs on paths (see the indexer's discovery)."""

    include: tuple[str, ...] = ("*.js", "*.ts", "*.jsx", "*.tsx", "*.py", "*.md")
    exclude: tuple[str, ...] = ()


class RepoRegistered(RepoEvent):
    # A URL often names its owner (github.com/<person>/...).
    personal = ("repo",)

    repo: str = Field(min_length=1, max_length=2_000, description="clone URL or local path")
    ref: str = Field(default="HEAD", max_length=200, description="branch or ref to index")
    filter: IndexFilterSpec = IndexFilterSpec()


class RepoPushed(RepoEvent):
    provider: Provider
    delivery_id: str = Field(min_length=1, max_length=200, description="the webhook's delivery")
    ref: str = Field(max_length=500)
    before: str | None = Field(default=None, pattern=SHA)
    after: str = Field(pattern=SHA)
    pusher: str = Field(default="", max_length=200)


class IndexUpdated(RepoEvent):
    commit: str = Field(pattern=SHA)
    space: str = Field(description="embedding space: model and dimensions")
    files: int = Field(ge=0, description="files in the index now")
    chunks: int = Field(ge=0, description="chunks in the index now")
    embedded: int = Field(ge=0, description="chunks embedded by this run")
    reused: int = Field(ge=0, description="chunks kept from before (blob unchanged)")
    removed_files: int = Field(ge=0)
    skipped_files: int = Field(ge=0)
    tokens: int = Field(ge=0, description="embedding tokens this run")
    cost_usd: float = Field(ge=0)
    seconds: float = Field(ge=0)


class IndexFailed(RepoEvent):
    commit: str | None = None
    reason: str = Field(max_length=4_000)
