"""A job's coder/tester rounds as the gateway serves them and the CLI prints them.

Read models, not events: built from the history by ``bdg_jobs.attempts.attempts_of`` and never
stored, so they can change shape without an upcaster.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from bdg_contracts.base import Contract
from bdg_contracts.events import FailToPass
from bdg_contracts.states import Step


class AttemptTrigger(StrEnum):
    """Why an attempt started."""

    plan_approved = "plan_approved"
    tests_failed = "tests_failed"  # the previous attempt's tests failed
    review_rework = "review_rework"  # the review of the previous attempt asked for rework


class AttemptOutcome(StrEnum):
    """Where an attempt ended, or where it is now."""

    coding = "coding"  # the coder is at work (or waits for a tool call's approval)
    testing = "testing"  # the coder finished, the tester is at work
    in_review = "in_review"  # tests passed, the review is pending
    approved = "approved"  # tests passed and the review approved
    tests_failed = "tests_failed"  # a next attempt followed
    rework = "rework"  # the review asked for rework: a next attempt followed
    step_failed = "step_failed"  # a step gave up and was not retried (yet)
    cancelled = "cancelled"


class ToolCallStatus(StrEnum):
    ran = "ran"
    error = "error"  # ran, and its result is an error
    rejected = "rejected"  # an unknown tool or invalid arguments: never ran
    refused = "refused"  # forbidden by policy: never ran
    awaiting_approval = "awaiting_approval"
    approved = "approved"  # approved by a person, not run yet
    denied = "denied"


class Trigger(Contract):
    kind: AttemptTrigger
    event_version: int
    from_attempt: int | None = Field(default=None, description="the attempt that led here")
    detail: str = Field(default="", description="who approved, the analysis, the review notes")


class ToolCallSummary(Contract):
    tool: str
    arguments: str = Field(description="the arguments on one short line")
    status: ToolCallStatus
    errored: bool
    result: str = Field(description="the start of the result (or of the refusal), bounded")
    result_chars: int = Field(description="the whole result's length")
    approved_by: str | None = None
    event_version: int


class ModelUsage(Contract):
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class FileChange(Contract):
    paths: tuple[str, ...]
    added: int = Field(description="lines added by the patch")
    removed: int = Field(description="lines removed by the patch")
    patch: str | None = Field(description="the unified diff; null when left out")
    event_version: int


class CodeContext(Contract):
    query: str
    repo: str = ""
    snippets: int
    note: str = ""


class CoderWork(Contract):
    summary: str = ""
    finished_at: datetime | None = None
    tool_calls: tuple[ToolCallSummary, ...] = ()
    model: ModelUsage = ModelUsage()
    files: tuple[FileChange, ...] = ()
    code_context: tuple[CodeContext, ...] = ()


class TesterReport(Contract):
    passed: bool
    total: int
    failed: int
    coverage: float | None = None
    analysis: str = ""
    output_tail: str = ""
    browser: str = Field(default="", description="the browser check: what it found, or why not")
    screenshot: str = Field(
        default="", description="its PNG's sha256: GET /jobs/{id}/screenshots/{screenshot}"
    )
    fail_to_pass: FailToPass | None = Field(
        default=None, description="the change's tests on the base code: which failed there"
    )
    at: datetime
    event_version: int


class Review(Contract):
    approved: bool
    score: int
    notes: str = ""
    at: datetime
    event_version: int


class StepFailure(Contract):
    step: Step
    service: str
    reason: str
    at: datetime
    event_version: int
    retried: bool = False


class Attempt(Contract):
    number: int = Field(ge=1)
    trigger: Trigger
    started_at: datetime
    ended_at: datetime | None = Field(default=None, description="null while it goes on")
    coder: CoderWork = CoderWork()
    tester: TesterReport | None = None
    tester_files: tuple[FileChange, ...] = Field(
        default=(), description="tests the tester scaffolded for a project that had none"
    )
    review: Review | None = None
    failures: tuple[StepFailure, ...] = ()
    outcome: AttemptOutcome
    outcome_detail: str = ""
    next_attempt: int | None = None

    def without_patches(self) -> Attempt:
        """The same attempt with every patch left out (they can be large)."""
        coder = self.coder.model_copy(update={"files": _without_patches(self.coder.files)})
        return self.model_copy(
            update={"coder": coder, "tester_files": _without_patches(self.tester_files)}
        )


def _without_patches(files: tuple[FileChange, ...]) -> tuple[FileChange, ...]:
    return tuple(f.model_copy(update={"patch": None}) for f in files)
