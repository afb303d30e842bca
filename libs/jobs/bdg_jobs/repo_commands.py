"""Use cases over a repository's index: register it, record a push, decide a reaction.

Shared by the gateway (API, webhook), the CLI and the indexer, as ``JobCommands`` is for jobs.
The webhook secret of a registration lives in ``bdg_repo_hooks``, never in the event log.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg

from bdg_contracts import commands as cmd
from bdg_contracts import index_events as ix
from bdg_contracts.clone_dns import check_host_async
from bdg_contracts.ids import check_tenant
from bdg_jobs.application import NoPublisher, Publisher, utc_now
from bdg_jobs.domain import Cause
from bdg_jobs.errors import ConcurrencyConflictError, RepoNotFoundError
from bdg_jobs.repos import RepoIndex
from bdg_jobs.sources import SourceRules, names_a_path
from bdg_jobs.store import JobStore, Recorded


@dataclass(frozen=True)
class Registration:
    index: RepoIndex
    secret: str  # for the provider's webhook settings
    created: bool  # False: it was registered already, nothing written


class RepoCommands:
    def __init__(
        self,
        store: JobStore,
        database_url: str,
        publisher: Publisher | None = None,
        clock: Callable[[], Any] = utc_now,
        max_conflict_retries: int = 10,
        sources: SourceRules | None = None,
    ) -> None:
        """``sources`` unset: only clone URLs may be registered (as for jobs)."""
        self.store, self.url = store, database_url
        self.sources = sources or SourceRules()
        self.publisher = publisher or NoPublisher()
        self.clock, self.max_conflict_retries = clock, max_conflict_retries

    async def get(self, tenant_id: str, repo_id: UUID) -> RepoIndex:
        repo = await asyncio.to_thread(self.store.load_repo, repo_id)
        if repo.tenant_id != tenant_id:
            raise RepoNotFoundError(f"no repository {repo_id}")
        return repo

    async def register(
        self, cause: Cause, tenant_id: str, command: cmd.RegisterRepo
    ) -> Registration:
        """Register once; registering the same repository again returns it unchanged."""
        check_tenant(tenant_id)
        # The same rules as a job's repository: a path means the same thing to both.
        if names_a_path(command.repo):
            repo = await asyncio.to_thread(self.sources.check, tenant_id, command.repo)
        else:
            repo = self.sources.check(tenant_id, command.repo)
            allowed = self.sources.clone_hosts_for(tenant_id)
            await check_host_async(repo, allowed, unresolved_ok=True)
        repo_id = ix.repo_id(tenant_id, repo)
        try:
            existing = await self.get(tenant_id, repo_id)
        except RepoNotFoundError:
            existing = None
        if existing is not None:
            return Registration(existing, await self._secret(repo_id), created=False)
        fields: dict[str, Any] = {"ref": command.ref}
        if command.include is not None:
            fields["filter"] = ix.IndexFilterSpec(include=command.include, exclude=command.exclude)
        elif command.exclude:
            fields["filter"] = ix.IndexFilterSpec(exclude=command.exclude)
        index = RepoIndex.register(tenant_id, cause, repo, **fields)
        secret = secrets.token_urlsafe(32)
        # The secret first: a registration whose event failed to append is retried as new, and
        # the ON CONFLICT keeps the first secret; an event without a secret never happens.
        await asyncio.to_thread(self._store_secret, index, secret)
        try:
            recorded = await asyncio.to_thread(self.store.append, index.collect())
        except ConcurrencyConflictError:  # registered by someone else at the same moment
            return Registration(
                await self.get(tenant_id, repo_id), await self._secret(repo_id), False
            )
        await self._publish(recorded)
        return Registration(index, await self._secret(repo_id), created=True)

    async def hooks_for(self, urls: list[str]) -> list[tuple[UUID, str, str]]:
        """(repo id, tenant, secret) of every registration of any of ``urls``."""
        normalized = sorted({ix.normalize_repo(u) for u in urls if u})
        if not normalized:
            return []

        def query() -> list[tuple[UUID, str, str]]:
            with psycopg.connect(self.url) as conn:
                rows = conn.execute(
                    "SELECT repo_id, tenant, secret FROM bdg_repo_hooks WHERE repo = ANY(%s)",
                    (normalized,),
                ).fetchall()
            return [(r[0], r[1], r[2]) for r in rows]

        return await asyncio.to_thread(query)

    async def execute(self, repo_id: UUID, decide: Callable[[RepoIndex], None]) -> list[Recorded]:
        """Load, decide, append; a version conflict reloads and decides again."""
        for _ in range(self.max_conflict_retries):
            repo = await asyncio.to_thread(self.store.load_repo, repo_id)
            decide(repo)
            events = repo.collect()
            if not events:
                return []
            try:
                recorded = await asyncio.to_thread(self.store.append, events)
            except ConcurrencyConflictError:
                continue
            await self._publish(recorded)
            return recorded
        raise ConcurrencyConflictError(f"repository {repo_id}: too many concurrent writers")

    async def push(self, repo_id: UUID, cause: Cause, **fields: Any) -> list[Recorded]:
        return await self.execute(repo_id, lambda repo: repo.push(cause, **fields))

    # -- internals ---------------------------------------------------------------------------
    def _store_secret(self, index: RepoIndex, secret: str) -> None:
        with psycopg.connect(self.url) as conn:
            conn.execute(
                "INSERT INTO bdg_repo_hooks (repo_id, tenant, repo, secret) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (repo_id) DO NOTHING",
                (index.repo_id, index.tenant_id, index.repo, secret),
            )

    async def _secret(self, repo_id: UUID) -> str:
        def query() -> str:
            with psycopg.connect(self.url) as conn:
                row = conn.execute(
                    "SELECT secret FROM bdg_repo_hooks WHERE repo_id = %s", (repo_id,)
                ).fetchone()
            return str(row[0]) if row else ""

        return await asyncio.to_thread(query)

    async def _publish(self, recorded: list[Recorded]) -> None:
        try:
            await self.publisher.publish(recorded)
        except Exception:  # committed is what counts; the relay publishes it
            return


def signature_matches(secret: str, body: bytes, signature: str, prefix: str = "sha256=") -> bool:
    """An HMAC-SHA256 hex signature of ``body`` (GitHub's and Gitea's scheme), in constant time."""
    expected = prefix + hmac.new(secret.encode(), body, "sha256").hexdigest()
    return hmac.compare_digest(expected, signature.strip())
