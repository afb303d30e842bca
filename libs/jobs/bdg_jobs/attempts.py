"""Each coder/tester round of a job, from its history alone (pure).

The job aggregate itself says where one attempt ends and the next begins: the history is replayed
and an event belongs to the attempt named by its ``attempt`` field, else to the attempt in force
when it happened. So the boundaries here can never disagree with the ones the services acted on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import singledispatch

from bdg_contracts import events as ev
from bdg_contracts import tool_events as tev
from bdg_contracts.attempts import (
    Attempt,
    AttemptOutcome,
    AttemptTrigger,
    CodeContext,
    CoderWork,
    FileChange,
    ModelUsage,
    Review,
    StepFailure,
    TesterReport,
    Trigger,
)
from bdg_contracts.base import Event
from bdg_contracts.states import JobState
from bdg_jobs.attempt_tool_calls import ToolCalls
from bdg_jobs.domain import Job

DETAIL_CHARS = 200


class AttemptNotFoundError(LookupError):
    """No such attempt."""


def first_line(text: str, width: int = DETAIL_CHARS) -> str:
    line = next((s.strip() for s in text.splitlines() if s.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


@dataclass
class _Draft:
    """An attempt while the history is read."""

    number: int
    trigger: Trigger
    started_at: datetime
    calls: ToolCalls = field(default_factory=ToolCalls)
    summary: str = ""
    finished_at: datetime | None = None
    model: ModelUsage = field(default_factory=ModelUsage)
    files: list[FileChange] = field(default_factory=list)
    context: list[CodeContext] = field(default_factory=list)
    tester: TesterReport | None = None
    tester_files: list[FileChange] = field(default_factory=list)
    review: Review | None = None
    failures: list[StepFailure] = field(default_factory=list)
    cancelled: ev.JobCancelled | None = None
    followed_by: tuple[Trigger, int, datetime] | None = None  # the next attempt's start

    @property
    def settled(self) -> bool:
        # After an approving review the work of the attempt is done: a later deploy failure or
        # cancellation is the job's, not this attempt's.
        return self.review is not None and self.review.approved

    def build(self) -> Attempt:
        outcome, detail, ended, following = self._outcome()
        return Attempt(
            number=self.number,
            trigger=self.trigger,
            started_at=self.started_at,
            ended_at=ended,
            coder=CoderWork(
                summary=self.summary,
                finished_at=self.finished_at,
                tool_calls=tuple(self.calls.entries),
                model=self.model,
                files=tuple(self.files),
                code_context=tuple(self.context),
            ),
            tester=self.tester,
            tester_files=tuple(self.tester_files),
            review=self.review,
            failures=tuple(self.failures),
            outcome=outcome,
            outcome_detail=detail,
            next_attempt=following,
        )

    def _outcome(self) -> tuple[AttemptOutcome, str, datetime | None, int | None]:
        if self.cancelled is not None:
            return AttemptOutcome.cancelled, self.cancelled.reason, self.cancelled.occurred_at, None
        if self.failures and not self.failures[-1].retried:
            failure = self.failures[-1]
            return AttemptOutcome.step_failed, failure.reason, failure.at, None
        if self.followed_by is not None:
            trigger, number, at = self.followed_by
            kind = (
                AttemptOutcome.rework
                if trigger.kind == AttemptTrigger.review_rework
                else AttemptOutcome.tests_failed
            )
            return kind, trigger.detail, at, number
        if self.review is not None and self.review.approved:
            return AttemptOutcome.approved, first_line(self.review.notes), self.review.at, None
        if self.tester is not None:
            passed = self.tester.passed
            kind = AttemptOutcome.in_review if passed else AttemptOutcome.tests_failed
            return kind, "" if passed else first_line(self.tester.analysis), None, None
        if self.finished_at is not None:
            return AttemptOutcome.testing, "", None, None
        return AttemptOutcome.coding, self.calls.waiting_note(), None, None


def attempts_of(history: Sequence[Event]) -> list[Attempt]:
    """Every attempt of the job, first to last; ``history`` is the whole log from version 1."""
    if not history:
        return []
    job = Job(job_id=history[0].job_id, tenant_id=history[0].tenant_id)
    drafts: dict[int, _Draft] = {}
    for event in history:
        before, state = job.attempt, job.state
        job.apply(event)
        draft = drafts.get(getattr(event, "attempt", None) or before)
        if draft is not None and not draft.settled:
            _see(event, draft, state)
        if job.attempt > before:
            trigger = _trigger(event, before)
            if before in drafts:
                drafts[before].followed_by = (trigger, job.attempt, event.occurred_at)
            drafts[job.attempt] = _Draft(job.attempt, trigger, event.occurred_at)
    return [draft.build() for draft in drafts.values()]


def attempt_of(history: Sequence[Event], number: int) -> Attempt:
    attempts = attempts_of(history)
    if not 1 <= number <= len(attempts):
        made = f"only {len(attempts)}" if attempts else "none yet"
        raise AttemptNotFoundError(f"no attempt {number}: the job has {made}")
    return attempts[number - 1]


# -- why an attempt started -----------------------------------------------------------------
@singledispatch
def _trigger(event: Event, previous: int) -> Trigger:
    raise TypeError(f"{event.name} does not start an attempt")  # the aggregate changed: say so


@_trigger.register
def _(event: ev.PlanApproved, previous: int) -> Trigger:
    return Trigger(
        kind=AttemptTrigger.plan_approved,
        event_version=event.version,
        detail=f"plan approved by {event.approved_by}",
    )


@_trigger.register
def _(event: ev.TestsFailed, previous: int) -> Trigger:
    analysis = first_line(event.analysis)
    counts = event.results.headline()
    return Trigger(
        kind=AttemptTrigger.tests_failed,
        event_version=event.version,
        from_attempt=event.attempt,
        detail=f"{counts}: {analysis}" if analysis else counts,
    )


@_trigger.register
def _(event: ev.ReviewCompleted, previous: int) -> Trigger:
    notes = first_line(event.notes)
    return Trigger(
        kind=AttemptTrigger.review_rework,
        event_version=event.version,
        from_attempt=previous,
        detail=f"review scored {event.score}/10" + (f": {notes}" if notes else ""),
    )


# -- what an event adds to its attempt ------------------------------------------------------
@singledispatch
def _see(event: Event, draft: _Draft, state: JobState) -> None:
    """Events that say nothing about an attempt (plans, deploys, pauses, ...)."""


@_see.register(ev.ToolCalled)
@_see.register(tev.ToolCallRequested)
@_see.register(tev.ToolCallApproved)
@_see.register(tev.ToolCallDenied)
@_see.register(tev.ToolCallRefused)
@_see.register(tev.ToolCallRejected)
def _(event: Event, draft: _Draft, state: JobState) -> None:
    draft.calls.see(event)


@_see.register
def _(event: ev.LlmCalled, draft: _Draft, state: JobState) -> None:
    if event.role != "coder":
        return  # the reviewer's calls are the review's cost, not the coder's work
    m = draft.model
    draft.model = ModelUsage(
        calls=m.calls + 1,
        prompt_tokens=m.prompt_tokens + event.prompt_tokens,
        completion_tokens=m.completion_tokens + event.completion_tokens,
        cost_usd=m.cost_usd + event.cost_usd,
    )


@_see.register
def _(event: ev.FilesChanged, draft: _Draft, state: JobState) -> None:
    lines = event.patch.splitlines()
    added = sum(1 for x in lines if x.startswith("+") and not x.startswith("+++"))
    removed = sum(1 for x in lines if x.startswith("-") and not x.startswith("---"))
    change = FileChange(
        paths=event.paths,
        added=added,
        removed=removed,
        patch=event.patch,
        event_version=event.version,
    )
    # While testing, the change is tests the tester scaffolded, not the coder's work.
    (draft.tester_files if state == JobState.testing else draft.files).append(change)


@_see.register
def _(event: ev.CodingFinished, draft: _Draft, state: JobState) -> None:
    draft.summary, draft.finished_at = event.summary, event.occurred_at


@_see.register
def _(event: tev.CodeContextRetrieved, draft: _Draft, state: JobState) -> None:
    if state != JobState.coding:
        return  # the reviewer's context: not what the coder was shown
    draft.context.append(
        CodeContext(query=event.query, repo=event.repo, snippets=len(event.hits), note=event.note)
    )


@_see.register(ev.TestsPassed)
@_see.register(ev.TestsFailed)
def _(event: ev.TestsPassed | ev.TestsFailed, draft: _Draft, state: JobState) -> None:
    results = event.results
    draft.tester = TesterReport(
        passed=isinstance(event, ev.TestsPassed),
        total=results.total,
        failed=results.failed,
        coverage=results.coverage,
        analysis=event.analysis if isinstance(event, ev.TestsFailed) else "",
        output_tail=results.output_tail,
        browser=results.browser,
        screenshot=results.screenshot,
        fail_to_pass=results.fail_to_pass,
        at=event.occurred_at,
        event_version=event.version,
    )


@_see.register
def _(event: ev.ReviewCompleted, draft: _Draft, state: JobState) -> None:
    draft.review = Review(
        approved=event.approved,
        score=event.score,
        notes=event.notes,
        at=event.occurred_at,
        event_version=event.version,
    )


@_see.register
def _(event: ev.StepFailed, draft: _Draft, state: JobState) -> None:
    draft.failures.append(
        StepFailure(
            step=event.step,
            service=event.service,
            reason=event.reason,
            at=event.occurred_at,
            event_version=event.version,
        )
    )


@_see.register
def _(event: ev.StepRetried, draft: _Draft, state: JobState) -> None:
    if draft.failures:
        draft.failures[-1] = draft.failures[-1].model_copy(update={"retried": True})


@_see.register
def _(event: ev.JobCancelled, draft: _Draft, state: JobState) -> None:
    draft.cancelled = event
