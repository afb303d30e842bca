"""What a job's events have established: its fields, and how each event changes them.

The evolve half of the job aggregate (``domain.Job``); the decisions that append events are in
``job_planning``, ``job_tools``, ``job_work`` and ``job_control``. Nothing here decides: apply
is called for events just decided and for every event of a replayed history alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Self
from uuid import UUID

from bdg_contracts import events as ev
from bdg_contracts import tool_events as tev
from bdg_contracts.base import Event
from bdg_contracts.events import PlanApproval
from bdg_contracts.states import STEP_STATE, JobState, Step
from bdg_jobs.aggregate import Aggregate
from bdg_jobs.errors import IllegalTransitionError
from bdg_jobs.event_dispatch import event_dispatch
from bdg_jobs.transitions import ALLOWED, FIXED_TARGET


@dataclass
class JobFacts(Aggregate):
    job_id: UUID
    user_id: str | None = None
    goal: str = ""
    repo: str = ""
    plan_approval: PlanApproval = PlanApproval.gated
    max_attempts: int = 5
    state: JobState = JobState.planning
    plan_markdown: str = ""
    plan_versions: list[str] = field(default_factory=list)
    attempt: int = 0
    review_reworks: int = 0
    canary: bool = False
    deployed_url: str = ""
    deploy_digest: str = ""  # what the pending deploy approval must name ("" before digests)
    delivered_branch: ev.DeliveredBranch | None = None
    # service -> the settings it recorded (those not at their defaults), for replays
    service_settings: dict[str, dict[str, str]] = field(default_factory=dict)
    cost_usd: float = 0.0
    budget_limit_usd: float | None = None
    # Pause and budget suspension nest (a paused job can also run out of budget): a stack.
    resume_stack: list[JobState] = field(default_factory=list)
    # Gated tool calls waiting for a person: call id -> tool.
    awaiting_tool_calls: dict[str, str] = field(default_factory=dict)
    previous_state: JobState = JobState.planning
    review_approved: bool = False
    models: dict[str, str] = field(default_factory=dict)  # role -> model, for this job only
    failed_step: Step | None = None
    failed_service: str | None = None
    failed_event_version: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    first_event = ev.JobRequested
    history_name = "a job's history"

    @classmethod
    def blank(cls, aggregate_id: UUID, tenant_id: str) -> Self:
        return cls(job_id=aggregate_id, tenant_id=tenant_id)

    @property
    def aggregate_id(self) -> UUID:
        return self.job_id

    def check_allowed(self, cls: type[Event]) -> None:
        allowed = ALLOWED.get(cls)
        if allowed is None or self.state not in allowed:
            raise IllegalTransitionError(
                f"{cls.__name__} is not allowed while the job is {self.state.value}"
            )

    def _when(self, event: Event) -> None:
        self.previous_state = self.state
        self.updated_at = event.occurred_at
        target = FIXED_TARGET.get(type(event))
        if target is not None:
            self.state = target
        self._mutate(event)

    @event_dispatch
    def _mutate(self, event: Event) -> None:
        """Events that change nothing beyond version and state."""

    @_mutate.register
    def _(self, event: ev.JobRequested) -> None:
        self.user_id = event.user_id
        self.goal, self.repo = event.goal, event.repo
        self.plan_approval, self.max_attempts = event.plan_approval, event.max_attempts
        self.models = {str(role): model for role, model in event.models.items()}
        self.created_at = event.occurred_at

    @_mutate.register
    def _(self, event: ev.PlanDrafted) -> None:
        self.plan_markdown = event.plan_markdown

    @_mutate.register(ev.PlanReady)
    @_mutate.register(ev.PlanEdited)
    def _(self, event: ev.PlanReady | ev.PlanEdited) -> None:
        self.plan_markdown = event.plan_markdown
        self.plan_versions.append(event.plan_markdown)

    @_mutate.register
    def _(self, event: ev.PlanApproved) -> None:
        self.attempt = 1

    @_mutate.register
    def _(self, event: ev.TestsFailed) -> None:
        if self.attempt < self.max_attempts:
            self.state = JobState.coding
            self.attempt += 1

    @_mutate.register
    def _(self, event: ev.ReviewCompleted) -> None:
        self.review_approved = event.approved
        if not event.approved and self.review_reworks < 1:
            self.review_reworks += 1
            self.attempt += 1
            self.state = JobState.coding

    @_mutate.register
    def _(self, event: ev.DeployAwaitingApproval) -> None:
        self.deploy_digest = event.digest

    @_mutate.register
    def _(self, event: ev.Deployed) -> None:
        self.deployed_url, self.canary = event.url, event.canary
        self.delivered_branch = event.branch
        if not event.canary:
            self.state = JobState.done

    @_mutate.register
    def _(self, event: ev.SettingsRecorded) -> None:
        self.service_settings[event.service] = dict(event.settings)

    @_mutate.register
    def _(self, event: ev.LlmCalled) -> None:
        self.cost_usd += event.cost_usd

    @_mutate.register
    def _(self, event: ev.StepFailed) -> None:
        self.failed_step, self.failed_service = event.step, event.service
        self.failed_event_version = event.failed_event_version

    @_mutate.register
    def _(self, event: ev.StepRetried) -> None:
        self.state = STEP_STATE[event.step]
        self.failed_step = self.failed_service = self.failed_event_version = None

    @_mutate.register(ev.JobPaused)
    @_mutate.register(ev.BudgetExceeded)
    def _(self, event: ev.JobPaused | ev.BudgetExceeded) -> None:
        self.resume_stack.append(self.previous_state)

    @_mutate.register
    def _(self, event: ev.JobResumed) -> None:
        self.state = self.resume_stack.pop()
        self.awaiting_tool_calls.clear()  # undecided calls are asked for again when re-run

    @_mutate.register
    def _(self, event: tev.ToolCallRequested) -> None:
        self.resume_stack.append(self.previous_state)
        self.awaiting_tool_calls[event.call_id] = event.tool

    @_mutate.register(tev.ToolCallApproved)
    @_mutate.register(tev.ToolCallDenied)
    def _(self, event: tev.ToolCallApproved | tev.ToolCallDenied) -> None:
        self.awaiting_tool_calls.pop(event.call_id, None)
        self.state = self.resume_stack.pop()

    @_mutate.register
    def _(self, event: ev.BudgetRaised) -> None:
        self.budget_limit_usd = event.limit_usd
        if self.state == JobState.suspended_budget:
            self.state = self.resume_stack.pop()
