"""The repository-index aggregate: registered once per tenant, pushed to, indexed.

Pure, like the job: decisions append events; state is rebuilt from them. A webhook delivered
twice (providers redeliver) is refused by its delivery id or by its commit, so nothing is written
twice; a reaction of the indexer is recorded once per cause (``has_reacted``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Self
from uuid import UUID

from bdg_contracts import index_events as ix
from bdg_contracts.base import Event
from bdg_jobs.aggregate import Aggregate, Cause
from bdg_jobs.errors import DomainError
from bdg_jobs.event_dispatch import event_dispatch


class RepoStateError(DomainError):
    """Not now: the repository is not registered, or already is."""


class DuplicatePushError(DomainError):
    """This push was recorded already (a redelivered webhook)."""


@dataclass
class RepoIndex(Aggregate):
    repo_id: UUID
    repo: str = ""
    ref: str = "HEAD"
    filter: ix.IndexFilterSpec = field(default_factory=ix.IndexFilterSpec)
    indexed_commit: str | None = None  # the commit the index is at
    files: int = 0
    chunks: int = 0
    last_error: str = ""
    deliveries: set[str] = field(default_factory=set)
    pushed_commits: set[str] = field(default_factory=set)

    first_event = ix.RepoRegistered
    history_name = "a repository"

    @classmethod
    def blank(cls, aggregate_id: UUID, tenant_id: str) -> Self:
        return cls(repo_id=aggregate_id, tenant_id=tenant_id)

    @property
    def aggregate_id(self) -> UUID:
        return self.repo_id

    @classmethod
    def register(
        cls,
        tenant_id: str,
        cause: Cause,
        repo: str,
        ref: str = "HEAD",
        filter: ix.IndexFilterSpec | None = None,
    ) -> Self:
        index = cls.blank(ix.repo_id(tenant_id, repo), tenant_id)
        index._append(
            ix.RepoRegistered,
            cause,
            repo=ix.normalize_repo(repo),
            ref=ref,
            filter=filter or ix.IndexFilterSpec(),
        )
        return index

    # -- decisions --------------------------------------------------------------------------
    def push(
        self,
        cause: Cause,
        *,
        provider: ix.Provider,
        delivery_id: str,
        ref: str,
        after: str,
        before: str | None = None,
        pusher: str = "",
    ) -> None:
        if f"{provider}:{delivery_id}" in self.deliveries:
            raise DuplicatePushError(f"{provider} delivery {delivery_id} was recorded already")
        if after in self.pushed_commits:
            raise DuplicatePushError(f"a push of {after} was recorded already")
        self._append(
            ix.RepoPushed,
            cause,
            provider=provider,
            delivery_id=delivery_id,
            ref=ref,
            before=before,
            after=after,
            pusher=pusher,
        )

    def record_indexed(
        self,
        cause: Cause,
        *,
        commit: str,
        space: str,
        files: int,
        chunks: int,
        embedded: int,
        reused: int,
        removed_files: int,
        skipped_files: int,
        tokens: int,
        cost_usd: float,
        seconds: float,
    ) -> None:
        self._append(
            ix.IndexUpdated,
            cause,
            commit=commit,
            space=space,
            files=files,
            chunks=chunks,
            embedded=embedded,
            reused=reused,
            removed_files=removed_files,
            skipped_files=skipped_files,
            tokens=tokens,
            cost_usd=cost_usd,
            seconds=seconds,
        )

    def record_failure(self, cause: Cause, reason: str, commit: str | None = None) -> None:
        self._append(ix.IndexFailed, cause, reason=reason[:4000], commit=commit)

    # -- evolving ---------------------------------------------------------------------------
    def _when(self, event: Event) -> None:
        self._mutate(event)

    @event_dispatch
    def _mutate(self, event: Event) -> None:
        """Events that change nothing beyond the version."""

    @_mutate.register
    def _(self, event: ix.RepoRegistered) -> None:
        self.repo, self.ref, self.filter = event.repo, event.ref, event.filter

    @_mutate.register
    def _(self, event: ix.RepoPushed) -> None:
        self.deliveries.add(f"{event.provider}:{event.delivery_id}")
        self.pushed_commits.add(event.after)

    @_mutate.register
    def _(self, event: ix.IndexUpdated) -> None:
        self.indexed_commit, self.files, self.chunks = event.commit, event.files, event.chunks
        self.last_error = ""

    @_mutate.register
    def _(self, event: ix.IndexFailed) -> None:
        self.last_error = event.reason
