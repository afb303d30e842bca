"""What the gateway answers with: JSON shapes of jobs, events and the job list."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from bdg_contracts.base import Event
from bdg_contracts.states import JobState, Step
from bdg_jobs.domain import Job


class View(BaseModel):
    model_config = ConfigDict(frozen=True)


class JobView(View):
    id: UUID
    tenant: str
    user: str | None
    goal: str
    repo: str
    state: JobState
    plan_markdown: str
    plan_versions: list[str]
    attempt: int
    cost_usd: float
    version: int
    created_at: datetime | None
    updated_at: datetime | None
    failed_step: Step | None
    deploy_digest: str | None = None  # the deploy last asked for: what an approval must name

    @classmethod
    def of(cls, job: Job) -> JobView:
        return cls(
            id=job.job_id,
            tenant=job.tenant_id,
            user=job.user_id,
            goal=job.goal,
            repo=job.repo,
            state=job.state,
            plan_markdown=job.plan_markdown,
            plan_versions=list(job.plan_versions),
            attempt=job.attempt,
            cost_usd=job.cost_usd,
            version=job.version,
            created_at=job.created_at,
            updated_at=job.updated_at,
            failed_step=job.failed_step,
            deploy_digest=job.deploy_digest or None,
        )


class EventView(View):
    """One event of a job, as the REST API and the WebSocket stream both send it."""

    version: int
    name: str
    event: dict[str, Any]

    @classmethod
    def of(cls, event: Event) -> EventView:
        return cls(version=event.version, name=event.name, event=event.model_dump(mode="json"))


class StreamedEvent(EventView):
    """One event on the job's WebSocket, with the job's cost right after it: the live total
    (it moves with each ``LlmCalled``, each model call settled)."""

    job_cost_usd: float

    @classmethod
    def after(cls, event: Event, job_cost_usd: float) -> StreamedEvent:
        view = EventView.of(event)
        return cls(**view.model_dump(), job_cost_usd=job_cost_usd)


class JobSummary(View):
    """A row of the ``agent_config`` read model (eventually consistent with the job)."""

    id: str
    tenant: str
    user: str | None
    goal: str | None
    state: str
    plan_markdown: str | None
    cost_usd: float
    version: int | None
    created_at: datetime | None
    updated_at: datetime | None


class JobPage(View):
    items: list[JobSummary]
    limit: int
    offset: int


class PoisonView(View):
    """The newest event a projection skipped (``bdg_jobs.poison``). No tenant data: /healthz
    is unauthenticated; ``bdg replay`` shows the job and the whole error."""

    projection: str
    position: int
    event_id: str
    event_name: str
    error_type: str
    first_seen: datetime


class Health(View):
    status: str
    database: str
    nats: str
    poisoned: int = 0
    newest_poison: PoisonView | None = None
