"""What the index, search and webhook routes answer with."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from bdg_contracts import tool_events as tev
from bdg_gateway.views import View
from bdg_jobs.repo_commands import Registration
from bdg_jobs.repos import RepoIndex

WEBHOOK_PATH = "/webhooks/git"


class RepoRegistrationView(View):
    id: UUID
    repo: str
    ref: str
    include: list[str]
    exclude: list[str]
    created: bool
    webhook_secret: str
    webhook_path: str = WEBHOOK_PATH

    @classmethod
    def of(cls, registration: Registration) -> RepoRegistrationView:
        index = registration.index
        return cls(
            id=index.repo_id,
            repo=index.repo,
            ref=index.ref,
            include=list(index.filter.include),
            exclude=list(index.filter.exclude),
            created=registration.created,
            webhook_secret=registration.secret,
        )


class IndexStatusView(View):
    """A repository of the tenant and where its index is (``bdg_index_status``, the indexer's
    progress; ``pending`` until the indexer starts on it)."""

    id: UUID
    repo: str
    state: str
    phase: str
    done: int
    total: int
    files: int
    chunks: int
    commit: str | None
    errors: list[Any]
    registered_at: datetime | None
    updated_at: datetime | None


class IndexRepoView(IndexStatusView):
    """One repository: its status and its registration (from its events)."""

    ref: str
    include: list[str]
    exclude: list[str]
    indexed_commit: str | None
    last_error: str
    version: int

    @classmethod
    def of(cls, status: IndexStatusView, index: RepoIndex) -> IndexRepoView:
        return cls(
            **status.model_dump(),
            ref=index.ref,
            include=list(index.filter.include),
            exclude=list(index.filter.exclude),
            indexed_commit=index.indexed_commit,
            last_error=index.last_error,
            version=index.version,
        )


class SearchView(View):
    query: str
    repo: str
    mode: str
    hits: list[tev.CodeHit]
    error: str = ""


class WebhookAnswer(View):
    """``repos``: the registrations a RepoPushed was appended to; ``jobs``: the jobs an issue
    started; ``duplicate``: the push (or issue) was recorded before (a redelivery);
    ``ignored``: why nothing concerned any registration."""

    repos: list[UUID] = []
    jobs: list[UUID] = []
    duplicate: bool = False
    ignored: str | None = None
