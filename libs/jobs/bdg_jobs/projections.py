"""Read-model decisions, pure: how a job's events become its ``agent_config`` row.

The row is not enough state to fold the next event (a resume pops a stack, a failed test run
depends on the attempt count), so the fold state is the ``Job`` aggregate itself, evolved by the
aggregate's own ``apply``: the read model can never disagree with the write model's rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bdg_contracts.base import Event
from bdg_jobs.domain import Job


@dataclass(frozen=True)
class AgentConfigRow:
    """One row of ``agent_config`` (columns in ``agent_config.COLUMNS``, same order)."""

    job_id: str
    state: str
    plan_markdown: str | None
    cost_usd: float
    tenant: str
    user: str | None
    goal: str
    created_at: datetime | None
    updated_at: datetime | None
    version: int


def evolve(job: Job | None, event: Event) -> Job:
    """The job after ``event``: a new job for its first event, else the aggregate's ``apply``.

    ``job`` is updated in place (folding 100k events must not copy a job per event); a caller
    that may have to roll back keeps its own copy or drops it.
    """
    if job is None:
        return Job.replay([event])
    job.apply(event)
    return job


def fold(job: Job | None, events: Iterable[Event]) -> Job | None:
    for event in events:
        job = evolve(job, event)
    return job


def row_of(job: Job) -> AgentConfigRow:
    return AgentConfigRow(
        job_id=str(job.job_id),
        state=job.state.value,
        plan_markdown=job.plan_markdown or None,
        cost_usd=job.cost_usd,
        tenant=job.tenant_id,
        user=job.user_id,
        goal=job.goal,
        created_at=job.created_at,
        updated_at=job.updated_at,
        version=job.version,
    )
