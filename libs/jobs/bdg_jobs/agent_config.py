"""The ``agent_config`` read model: one row per job, kept by folding events in memory per batch.

Each job touched by a batch is folded from the aggregate held in a bounded cache when it matches
the row's stored version, else from the job's history up to that version (one load per job per
batch, never per event). The caller owns the transaction (see ``projector.project``) and calls
``forget`` when it rolls back, since cached jobs may then be ahead of the database.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import fields
from operator import attrgetter
from typing import TYPE_CHECKING, Any
from uuid import UUID

import psycopg
from psycopg.rows import tuple_row

from bdg_contracts.base import Event
from bdg_jobs.domain import Job
from bdg_jobs.projections import AgentConfigRow, evolve, row_of

if TYPE_CHECKING:
    from bdg_jobs.projector import EventSource
    from bdg_jobs.store import Recorded

TABLE = "agent_config"
# Column and SQL type of each ``AgentConfigRow`` field, in field order.
COLUMNS: dict[str, str] = {
    '"jobId"': "text",
    "state": "text",
    '"planMarkdown"': "text",
    '"costUSD"': "real",
    "tenant": "text",
    '"user"': "text",
    "goal": "text",
    '"createdAt"': "timestamptz",
    '"updatedAt"': "timestamptz",
    "version": "int",
}
_UPSERT = (
    f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) "
    f"SELECT * FROM unnest({', '.join(f'%s::{t}[]' for t in COLUMNS.values())}) "
    f'ON CONFLICT ("jobId") DO UPDATE SET '
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in list(COLUMNS)[1:])
)
_VERSIONS = f'SELECT "jobId", version FROM {TABLE} WHERE "jobId" = ANY(%s::text[])'


class AgentConfigProjection:
    name = "agent_config"

    def __init__(self, cache_size: int = 100_000) -> None:
        self.cache_size = cache_size
        self._jobs: OrderedDict[UUID, Job] = OrderedDict()

    # -- the Projection protocol -------------------------------------------------------------
    def apply(
        self, conn: psycopg.Connection[Any], batch: Sequence[Recorded], source: EventSource
    ) -> None:
        """Fold ``batch`` (already filtered past the stored position) and upsert its jobs' rows."""
        by_job: dict[UUID, list[Event]] = {}
        for recorded in batch:
            if type(recorded.event).aggregate == "job":  # repositories share the log
                by_job.setdefault(recorded.event.job_id, []).append(recorded.event)
        # A job starting in this batch has no row yet: the position guarantees it.
        stored = self._stored_versions(conn, [j for j, e in by_job.items() if e[0].version > 1])
        rows: list[AgentConfigRow] = []
        for job_id, events in by_job.items():
            if events[0].version > 1 and str(job_id) not in stored:
                # Its row was deleted (an erasure): the cached job may hold what the log no
                # longer reads so; it is read again.
                self._jobs.pop(job_id, None)
            known = stored.get(str(job_id)) or events[0].version - 1
            job = self._job_at(job_id, known, source)
            for event in events:
                if job is None or event.version > job.version:
                    job = self.evolve(job, event)
            if job is not None and job.version != known:
                rows.append(self.row(job))
                self._remember(job)
        if rows:
            self._upsert(conn, rows)

    def reset(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(f"TRUNCATE {TABLE}")
        self.forget()

    def forget(self) -> None:
        self._jobs.clear()

    def repair(self, conn: psycopg.Connection[Any], originator: UUID, source: EventSource) -> None:
        """The job's row from its whole history (its events past the position then change
        nothing: ``apply`` skips versions the row already has)."""
        history = source.history(originator)
        if not history or type(history[0]).aggregate != "job":
            return
        job: Job | None = None
        for event in history:
            job = self.evolve(job, event)
        assert job is not None
        self._upsert(conn, [self.row(job)])
        self._remember(job)

    # -- the decisions, overridable in tests -------------------------------------------------
    def evolve(self, job: Job | None, event: Event) -> Job:
        return evolve(job, event)

    def row(self, job: Job) -> AgentConfigRow:
        return row_of(job)

    # -- internals ---------------------------------------------------------------------------
    def _job_at(self, job_id: UUID, version: int, source: EventSource) -> Job | None:
        """The job as of ``version`` (None before its first event)."""
        if version <= 0:
            self._jobs.pop(job_id, None)
            return None
        cached = self._jobs.get(job_id)
        if cached is not None and cached.version == version:
            self._jobs.move_to_end(job_id)
            return cached
        return Job.replay(source.history(job_id, upto=version))

    def _remember(self, job: Job) -> None:
        self._jobs[job.job_id] = job
        self._jobs.move_to_end(job.job_id)
        while len(self._jobs) > self.cache_size:
            self._jobs.popitem(last=False)

    @staticmethod
    def _stored_versions(conn: psycopg.Connection[Any], job_ids: list[UUID]) -> dict[str, int]:
        if not job_ids:
            return {}
        with conn.cursor(row_factory=tuple_row) as cur:
            cur.execute(_VERSIONS, ([str(j) for j in job_ids],))
            return {str(r[0]): int(r[1]) for r in cur.fetchall() if r[1] is not None}

    @staticmethod
    def _upsert(conn: psycopg.Connection[Any], rows: list[AgentConfigRow]) -> None:
        columns = [list(column) for column in zip(*map(_values, rows), strict=True)]
        conn.execute(_UPSERT, columns)


_values = attrgetter(*(f.name for f in fields(AgentConfigRow)))
"""A row's values in ``COLUMNS`` order."""
