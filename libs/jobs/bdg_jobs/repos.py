"""The repository-index aggregate: registered once per tenant, pushed to, indexed.

Pure, like the job: decisions append events; state is rebuilt from them. A webhook delivered
twice (providers redeliver) is refused by its delivery id or by its commit, so nothing is written
twice; a reaction of the indexer is recorded once per cause (``has_reacted``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from bdg_contracts import index_events as ix
from bdg_contracts.base import Event
from bdg_jobs.domain import Cause
from bdg_jobs.errors import DomainError


class RepoStateError(DomainError):
    """Not now: the repository is not registered, or already is."""


class DuplicatePushError(DomainError):
    """This push was recorded already (a redelivered webhook)."""


@dataclass
class RepoIndex:
    repo_id: UUID
    tenant_id: str
    repo: str = ""
    ref: str = "HEAD"
    filter: ix.IndexFilterSpec = field(default_factory=ix.IndexFilterSpec)
    indexed_commit: str | None = None  # the commit the index is at
    files: int = 0
    chunks: int = 0
    last_error: str = ""
    deliveries: set[str] = field(default_factory=set)
    pushed_commits: set[str] = field(default_factory=set)
    reactions: set[str] = field(default_factory=set)
    version: int = 0
    pending: list[Event] = field(default_factory=list)

    @classmethod
    def replay(cls, history: Iterable[Event]) -> RepoIndex:
        repo: RepoIndex | None = None
        for event in history:
            if repo is None:
                if not isinstance(event, ix.RepoRegistered):
                    raise ValueError(f"a repository starts with RepoRegistered, not {event.name}")
                repo = cls(repo_id=event.job_id, tenant_id=event.tenant_id)
            repo.apply(event)
        if repo is None:
            raise ValueError("empty history")
        return repo

    @classmethod
    def register(cls, tenant_id: str, cause: Cause, repo: str, **fields: Any) -> RepoIndex:
        index = cls(repo_id=ix.repo_id(tenant_id, repo), tenant_id=tenant_id)
        index._append(ix.RepoRegistered, cause, repo=ix.normalize_repo(repo), **fields)
        return index

    def apply(self, event: Event) -> None:
        if event.version != self.version + 1:
            raise ValueError(f"event version {event.version} does not follow {self.version}")
        self.version = event.version
        if event.causation_id:
            self.reactions.add(f"{event.producer}:{event.causation_id}")
        if isinstance(event, ix.RepoRegistered):
            self.repo, self.ref, self.filter = event.repo, event.ref, event.filter
        elif isinstance(event, ix.RepoPushed):
            self.deliveries.add(f"{event.provider}:{event.delivery_id}")
            self.pushed_commits.add(event.after)
        elif isinstance(event, ix.IndexUpdated):
            self.indexed_commit, self.files, self.chunks = event.commit, event.files, event.chunks
            self.last_error = ""
        elif isinstance(event, ix.IndexFailed):
            self.last_error = event.reason

    def has_reacted(self, producer: str, causation_id: str) -> bool:
        return f"{producer}:{causation_id}" in self.reactions

    def collect(self) -> list[Event]:
        events, self.pending = self.pending, []
        return events

    # -- decisions --------------------------------------------------------------------------
    def push(self, cause: Cause, **fields: Any) -> None:
        provider, delivery = fields["provider"], fields["delivery_id"]
        if f"{provider}:{delivery}" in self.deliveries:
            raise DuplicatePushError(f"{provider} delivery {delivery} was recorded already")
        if fields["after"] in self.pushed_commits:
            raise DuplicatePushError(f"a push of {fields['after']} was recorded already")
        self._append(ix.RepoPushed, cause, **fields)

    def record_indexed(self, cause: Cause, **fields: Any) -> None:
        self._append(ix.IndexUpdated, cause, **fields)

    def record_failure(self, cause: Cause, reason: str, commit: str | None = None) -> None:
        self._append(ix.IndexFailed, cause, reason=reason[:4000], commit=commit)

    def _append(self, cls: type[ix.RepoEvent], cause: Cause, **fields: Any) -> None:
        event = cls(
            job_id=self.repo_id,
            version=self.version + 1,
            causation_id=cause.causation_id,
            correlation_id=str(self.repo_id),
            tenant_id=self.tenant_id,
            user_id=cause.user_id,
            producer=cause.producer,
            occurred_at=cause.occurred_at,
            traceparent=cause.traceparent,
            **fields,
        )
        self.apply(event)
        self.pending.append(event)
