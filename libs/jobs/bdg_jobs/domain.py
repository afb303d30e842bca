"""The job aggregate: state rebuilt from events, decisions that append new ones.

Pure: time, ids and every outside result come in as arguments (``Cause``) and are stored in the
event, so replaying the log always gives the same job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import singledispatchmethod
from typing import Any, TypeVar
from uuid import UUID

from bdg_contracts import events as ev
from bdg_contracts import tool_events as tev
from bdg_contracts.base import Event
from bdg_contracts.states import STEP_STATE, JobState, Step
from bdg_jobs.errors import IllegalTransitionError
from bdg_jobs.transitions import ALLOWED, FIXED_TARGET

E = TypeVar("E", bound=Event)


@dataclass(frozen=True)
class Cause:
    """Who decides, when, and in reaction to what: the envelope of the events a decision makes."""

    producer: str
    occurred_at: datetime
    causation_id: str | None = None
    user_id: str | None = None
    traceparent: str | None = None


@dataclass
class Job:
    job_id: UUID
    tenant_id: str
    user_id: str | None = None
    goal: str = ""
    repo: str = ""
    plan_approval: str = "gated"
    max_attempts: int = 5
    state: JobState = JobState.planning
    plan_markdown: str = ""
    plan_versions: list[str] = field(default_factory=list)
    attempt: int = 0
    review_reworks: int = 0
    canary: bool = False
    deployed_url: str = ""
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
    version: int = 0
    reactions: set[str] = field(default_factory=set)
    pending: list[Event] = field(default_factory=list)

    # -- rebuilding -------------------------------------------------------------------------
    @classmethod
    def replay(cls, history: Iterable[Event]) -> Job:
        job: Job | None = None
        for event in history:
            if job is None:
                if not isinstance(event, ev.JobRequested):
                    raise ValueError(f"a job's history starts with JobRequested, not {event.name}")
                job = cls(job_id=event.job_id, tenant_id=event.tenant_id)
            job.apply(event)
        if job is None:
            raise ValueError("empty history")
        return job

    @classmethod
    def request(cls, job_id: UUID, tenant_id: str, cause: Cause, **fields: Any) -> Job:
        job = cls(job_id=job_id, tenant_id=tenant_id, user_id=cause.user_id)
        job._append(ev.JobRequested, cause, check=False, **fields)
        return job

    def apply(self, event: Event) -> None:
        if event.version != self.version + 1:
            raise ValueError(f"event version {event.version} does not follow {self.version}")
        self.version = event.version
        self.previous_state = self.state
        self.updated_at = event.occurred_at
        # A StepFailed is the runtime giving up, not a reaction: a retry must react again.
        if event.causation_id and not isinstance(event, ev.StepFailed):
            self.reactions.add(self.reaction_key(event.producer, event.causation_id))
        target = FIXED_TARGET.get(type(event))
        if target is not None:
            self.state = target
        self._mutate(event)

    @staticmethod
    def reaction_key(producer: str, causation_id: str) -> str:
        return f"{producer}:{causation_id}"

    def has_reacted(self, producer: str, causation_id: str) -> bool:
        """True when ``producer`` already recorded its reaction to the event ``causation_id``."""
        return self.reaction_key(producer, causation_id) in self.reactions

    def collect(self) -> list[Event]:
        events, self.pending = self.pending, []
        return events

    # -- decisions --------------------------------------------------------------------------
    def draft_plan(self, cause: Cause, plan_markdown: str, iteration: int) -> None:
        self._append(ev.PlanDrafted, cause, plan_markdown=plan_markdown, iteration=iteration)

    def critique_plan(self, cause: Cause, iteration: int, score: int, **fields: Any) -> None:
        self._append(ev.PlanCritiqued, cause, iteration=iteration, score=score, **fields)

    def make_plan_ready(self, cause: Cause, plan_markdown: str) -> None:
        self._append(ev.PlanReady, cause, plan_markdown=plan_markdown)
        if self.plan_approval == "auto":
            self._append(ev.PlanApproved, cause, approved_by="auto")

    def edit_plan(self, cause: Cause, plan_markdown: str) -> None:
        self._append(ev.PlanEdited, cause, plan_markdown=plan_markdown)

    def approve_plan(self, cause: Cause, approved_by: str) -> None:
        self._append(ev.PlanApproved, cause, approved_by=approved_by)

    def call_tool(self, cause: Cause, **fields: Any) -> None:
        self._append(ev.ToolCalled, cause, **fields)

    def request_tool_approval(self, cause: Cause, **fields: Any) -> None:
        self._append(tev.ToolCallRequested, cause, **fields)

    def approve_tool_call(self, cause: Cause, call_id: str, approved_by: str) -> None:
        self._check_awaiting(tev.ToolCallApproved, call_id)
        self._append(tev.ToolCallApproved, cause, call_id=call_id, approved_by=approved_by)

    def deny_tool_call(self, cause: Cause, call_id: str, denied_by: str, reason: str) -> None:
        self._check_awaiting(tev.ToolCallDenied, call_id)
        self._append(tev.ToolCallDenied, cause, call_id=call_id, denied_by=denied_by, reason=reason)

    def refuse_tool_call(self, cause: Cause, **fields: Any) -> None:
        self._append(tev.ToolCallRefused, cause, **fields)

    def reject_tool_call(self, cause: Cause, **fields: Any) -> None:
        self._append(tev.ToolCallRejected, cause, **fields)

    def change_files(self, cause: Cause, patch: str, paths: tuple[str, ...]) -> None:
        self._append(ev.FilesChanged, cause, attempt=self.attempt, patch=patch, paths=paths)

    def finish_coding(self, cause: Cause, summary: str = "", base_commit: str = "") -> None:
        self._append(
            ev.CodingFinished,
            cause,
            attempt=self.attempt,
            summary=summary,
            base_commit=base_commit,
        )

    def pass_tests(self, cause: Cause, results: ev.TestResults) -> None:
        self._append(ev.TestsPassed, cause, attempt=self.attempt, results=results)

    def fail_tests(self, cause: Cause, results: ev.TestResults, analysis: str) -> None:
        last = self.attempt >= self.max_attempts
        failed = self._append(
            ev.TestsFailed, cause, attempt=self.attempt, results=results, analysis=analysis
        )
        if last:
            self.fail_step(
                cause,
                Step.testing,
                cause.producer,
                f"tests still failing after {self.attempt} attempts: {analysis}",
                failed.version,
            )

    def complete_review(self, cause: Cause, approved: bool, score: int, notes: str) -> None:
        rework_spent = not approved and self.review_reworks >= 1
        review = self._append(
            ev.ReviewCompleted, cause, approved=approved, score=score, notes=notes
        )
        if rework_spent:
            self.fail_step(
                cause,
                Step.reviewing,
                cause.producer,
                f"review rejected again after one rework: {notes}",
                review.version,
            )

    def await_deploy_approval(self, cause: Cause, target: str, preview: str = "") -> None:
        if not self.review_approved:
            raise IllegalTransitionError(
                "cannot ask for deploy approval before an approving review"
            )
        self._append(ev.DeployAwaitingApproval, cause, target=target, preview=preview)

    def approve_deploy(self, cause: Cause, approved_by: str) -> None:
        self._append(ev.DeployApproved, cause, approved_by=approved_by)

    def deploy(self, cause: Cause, url: str, canary: bool = False) -> None:
        self._append(ev.Deployed, cause, url=url, canary=canary)

    def promote_canary(self, cause: Cause) -> None:
        if not self.canary:
            raise IllegalTransitionError("no canary deployment to promote")
        self._append(ev.CanaryPromoted, cause, url=self.deployed_url)

    def request_rollback(self, cause: Cause, reason: str) -> None:
        if not self.deployed_url:
            raise IllegalTransitionError("nothing was deployed, nothing to roll back")
        self._append(ev.RollbackRequested, cause, reason=reason)

    def roll_back(self, cause: Cause, to_url: str = "") -> None:
        self._append(ev.RolledBack, cause, to_url=to_url)

    def record_code_context(self, cause: Cause, **fields: Any) -> None:
        self._append(tev.CodeContextRetrieved, cause, **fields)

    def record_llm_call(self, cause: Cause, **fields: Any) -> None:
        self._append(ev.LlmCalled, cause, **fields)

    def fail_step(
        self,
        cause: Cause,
        step: Step,
        service: str,
        reason: str,
        failed_event_version: int,
        deliveries: int = 0,
    ) -> None:
        self._append(
            ev.StepFailed,
            cause,
            step=step,
            service=service,
            reason=reason,
            failed_event_version=failed_event_version,
            deliveries=deliveries,
        )

    def retry_step(self, cause: Cause) -> ev.StepRetried:
        if self.failed_step is None or self.failed_service is None:
            raise IllegalTransitionError(f"cannot retry a job in state {self.state}")
        assert self.failed_event_version is not None
        return self._append(
            ev.StepRetried,
            cause,
            step=self.failed_step,
            service=self.failed_service,
            failed_event_version=self.failed_event_version,
        )

    def pause(self, cause: Cause, reason: str = "") -> None:
        self._append(ev.JobPaused, cause, reason=reason)

    def resume(self, cause: Cause) -> None:
        self._append(ev.JobResumed, cause)

    def cancel(self, cause: Cause, reason: str = "") -> None:
        self._append(ev.JobCancelled, cause, reason=reason)

    def exceed_budget(self, cause: Cause, limit_usd: float, spent_usd: float) -> None:
        self._append(ev.BudgetExceeded, cause, limit_usd=limit_usd, spent_usd=spent_usd)

    def raise_budget(self, cause: Cause, limit_usd: float) -> None:
        self._append(ev.BudgetRaised, cause, limit_usd=limit_usd)

    # -- internals --------------------------------------------------------------------------
    def _append(self, cls: type[E], cause: Cause, check: bool = True, **fields: Any) -> E:
        if check:
            self.check_allowed(cls)
        event = cls(
            job_id=self.job_id,
            version=self.version + 1,
            causation_id=cause.causation_id,
            correlation_id=str(self.job_id),
            tenant_id=self.tenant_id,
            user_id=cause.user_id,
            producer=cause.producer,
            occurred_at=cause.occurred_at,
            traceparent=cause.traceparent,
            **fields,
        )
        self.apply(event)
        self.pending.append(event)
        return event

    def check_allowed(self, cls: type[Event]) -> None:
        allowed = ALLOWED.get(cls)
        if allowed is None or self.state not in allowed:
            raise IllegalTransitionError(
                f"{cls.__name__} is not allowed while the job is {self.state.value}"
            )

    def _check_awaiting(self, cls: type[Event], call_id: str) -> None:
        self.check_allowed(cls)
        if call_id not in self.awaiting_tool_calls:
            raise IllegalTransitionError(f"no tool call {call_id} awaits approval")

    @singledispatchmethod
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

    @_mutate.register
    def _(self, event: ev.PlanReady) -> None:
        self.plan_markdown = event.plan_markdown
        self.plan_versions.append(event.plan_markdown)

    @_mutate.register
    def _(self, event: ev.PlanEdited) -> None:
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
    def _(self, event: ev.Deployed) -> None:
        self.deployed_url, self.canary = event.url, event.canary
        if not event.canary:
            self.state = JobState.done

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

    @_mutate.register
    def _(self, event: ev.JobPaused) -> None:
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
    def _(self, event: ev.BudgetExceeded) -> None:
        self.resume_stack.append(self.previous_state)

    @_mutate.register
    def _(self, event: ev.BudgetRaised) -> None:
        self.budget_limit_usd = event.limit_usd
        if self.state == JobState.suspended_budget:
            self.state = self.resume_stack.pop()
