"""The indexer's use cases: index a registered repository, follow a push. Each records exactly
one IndexUpdated or IndexFailed per cause (``has_reacted``), so a redelivery records nothing.

Runs of one repository never overlap, across processes: a PostgreSQL advisory lock on the
repository id is held for the run (its working copy and its rows are one repository's). Errors
that a later delivery may not meet are raised for the consumer to retry; any other, and the
last delivery's, end as IndexFailed with the reason (the runtime's give-up path knows only jobs).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import UUID

from psycopg import AsyncConnection

from bdg_contracts import index_events as ix
from bdg_indexer import domain
from bdg_indexer.discovery.globs import IndexFilter
from bdg_indexer.failures import describe, is_transient
from bdg_indexer.indexing import Pipeline
from bdg_indexer.mirror import Mirror
from bdg_indexer.sources import Target
from bdg_indexer.storage.status import Progress, StatusBoard
from bdg_jobs.domain import Cause
from bdg_jobs.errors import RepoNotFoundError
from bdg_jobs.repo_commands import RepoCommands
from bdg_jobs.repos import RepoIndex
from bdg_jobs.sources import SourceRules
from bdg_runtime.metered_embeddings import index_payer
from bdg_runtime.metered_llm import paying

NAME = "indexer"
log = logging.getLogger("bdg_indexer")
Choose = Callable[[Mirror, RepoIndex], Awaitable[str | None]]


@dataclass(frozen=True)
class Attempt:
    number: int
    last: bool  # no redelivery follows: a transient failure is recorded now


class Indexing:
    def __init__(
        self,
        commands: RepoCommands,
        pipeline: Callable[[], Awaitable[Pipeline]],
        database_url: str,
        index_dir: Path,
        git_timeout: float,
        run_timeout: float,
        clock: Callable[[], datetime],
        sources: SourceRules,
    ) -> None:
        self.commands, self.pipeline, self.url = commands, pipeline, database_url
        self.index_dir, self.git_timeout, self.run_timeout = index_dir, git_timeout, run_timeout
        self.clock, self.sources = clock, sources

    async def registered(self, event: ix.RepoRegistered, attempt: Attempt) -> None:
        async def tip(mirror: Mirror, repo: RepoIndex) -> str:
            return await mirror.fetch_ref(repo.ref)

        await self._react(event, attempt, tip)

    async def pushed(self, event: ix.RepoPushed, attempt: Attempt) -> None:
        async def after(mirror: Mirror, repo: RepoIndex) -> str | None:
            default = await mirror.default_branch() if domain.full_ref(repo.ref) == "HEAD" else None
            if not domain.follows(repo.ref, event.ref, default):
                log.info(
                    "repo %s: push to %s ignored (indexing %s)", repo.repo_id, event.ref, repo.ref
                )
                return None
            await mirror.ensure_commit(event.after)
            indexed = repo.indexed_commit
            if indexed and await _superseded(mirror, repo.ref, event.after, indexed):
                return indexed
            return event.after

        await self._react(event, attempt, after)

    async def _react(self, event: ix.RepoEvent, attempt: Attempt, choose: Choose) -> None:
        try:
            repo = await self.commands.get(event.tenant_id, event.job_id)
        except RepoNotFoundError:
            log.warning("%s for unknown repository %s: nothing to do", event.name, event.job_id)
            return
        if repo.has_reacted(NAME, event.event_id):
            return
        pipeline = await self.pipeline()
        board = pipeline.board
        progress = Progress(repo.repo_id, repo.tenant_id, repo.repo)
        await board.queue(progress)  # a new repository shows as queued at once
        commit: str | None = None
        try:
            async with asyncio.timeout(self.run_timeout), self._locked(repo.repo_id):
                repo = await self.commands.get(event.tenant_id, event.job_id)  # after the wait
                if repo.has_reacted(NAME, event.event_id):
                    return
                progress = await board.read(repo.repo_id) or progress
                mirror = Mirror(
                    self.index_dir,
                    repo.tenant_id,
                    repo.repo_id,
                    repo.repo,
                    self.git_timeout,
                    self.sources,
                )
                await mirror.ensure()
                commit = await choose(mirror, repo)
                if commit is None:
                    return
                await board.write(progress.to("indexing", "checkout", commit=commit))
                await mirror.checkout(commit)
                target = Target(repo.repo_id, repo.tenant_id, repo.repo, _filter(repo))
                with paying(index_payer(repo.tenant_id, event.user_id, repo.repo_id)):
                    outcome, final = await pipeline.run(
                        target, mirror.path, commit, repo.indexed_commit, progress
                    )
                fields = outcome.fields(pipeline.space)
                # The status first: whoever sees the event then reads a status that agrees
                # with it (a crash between the two only leaves the run to be redone).
                await board.write(final)
                await self._record(event, lambda r, c: r.record_indexed(c, **fields))
                log.info("repo %s indexed at %s: %s", repo.repo_id, commit, fields)
        except Exception as error:
            await self._failed(event, attempt, error, commit, board, progress)

    async def _failed(
        self,
        event: ix.RepoEvent,
        attempt: Attempt,
        error: Exception,
        commit: str | None,
        board: StatusBoard,
        progress: Progress,
    ) -> None:
        reason = describe(error)
        if is_transient(error) and not attempt.last:
            log.warning(
                "repo %s: delivery %d failed, to be retried: %s",
                event.job_id,
                attempt.number,
                reason,
            )
            with contextlib.suppress(Exception):  # the database may be what is down
                current = await board.read(event.job_id) or progress
                await board.write(current.to("queued", f"to be retried: {reason}"[:500]))
            raise error
        if is_transient(error):
            reason = f"gave up after {attempt.number} deliveries: {reason}"
        log.error("repo %s: indexing failed: %s", event.job_id, reason)
        current = await board.read(event.job_id) or progress
        await board.write(current.to("failed", reason[:500]))  # before the event, as above
        await self._record(event, lambda r, c: r.record_failure(c, reason, commit))

    async def _record(
        self, event: ix.RepoEvent, decide: Callable[[RepoIndex, Cause], None]
    ) -> None:
        cause = Cause(NAME, self.clock(), event.event_id, event.user_id, event.traceparent)

        def guarded(repo: RepoIndex) -> None:
            if not repo.has_reacted(NAME, event.event_id):
                decide(repo, cause)

        await self.commands.execute(event.job_id, guarded)

    @asynccontextmanager
    async def _locked(self, repo_id: UUID) -> AsyncIterator[None]:
        key = int.from_bytes(
            hashlib.sha256(f"bdg_indexer.repo:{repo_id}".encode()).digest()[:8], "big", signed=True
        )
        async with await AsyncConnection.connect(self.url, autocommit=True) as conn:
            await conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            yield  # closing the connection releases the lock


async def _superseded(mirror: Mirror, ref: str, pushed: str, indexed: str) -> bool:
    """A push older than what is indexed arrived late (copies run in any order): the index
    stays at the newer commit, unless the ref was really moved back (a force push)."""
    if pushed == indexed or not await mirror.is_ancestor(pushed, indexed):
        return False
    return await mirror.fetch_ref(ref) != pushed


def _filter(repo: RepoIndex) -> IndexFilter:
    return IndexFilter(include=repo.filter.include, exclude=repo.filter.exclude)
