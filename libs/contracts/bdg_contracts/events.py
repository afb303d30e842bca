"""Every event of the job lifecycle, past tense; see DESIGN.md section 3 for the flow."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from bdg_contracts.base import Contract, Event
from bdg_contracts.states import JobState, PlanApproval, Step

PlanApprovalMode = Literal["auto", "gated"]


ModelRole = Literal["planner", "critic", "coder", "reviewer"]


class ForkedFrom(Contract):
    """The job this one was forked from, and the last version copied from it."""

    job_id: UUID
    version: int = Field(ge=1)


class JobRequested(Event):
    """v2 renamed ``repo_url`` to ``repo`` and added ``base_ref``; v3 added ``models`` (a model
    per role for this job only) and ``forked_from``."""

    personal = ("goal", "repo")

    class_version = 3

    goal: str = Field(min_length=1, max_length=10_000)
    repo: str = ""
    base_ref: str = "HEAD"
    plan_approval: PlanApproval = PlanApproval.gated
    max_attempts: int = Field(default=5, ge=1, le=20)

    models: dict[ModelRole, str] = Field(default_factory=dict)
    forked_from: ForkedFrom | None = None

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["repo"] = state.pop("repo_url", "")
        state["base_ref"] = "HEAD"

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        state.setdefault("models", {})
        state.setdefault("forked_from", None)


class PlanDrafted(Event):
    personal = ("plan_markdown",)
    plan_markdown: str
    iteration: int = Field(ge=1)


class PlanCritiqued(Event):
    """v2 added ``failure``."""

    class_version = 2

    iteration: int = Field(ge=1)
    score: int = Field(ge=1, le=10)
    risks: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()
    # Why the critic gave no verdict (its answer cut at max_tokens, or unreadable): the score
    # is then no judgement, the loop stops and the plan waits for a person.
    failure: str = ""

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state.setdefault("failure", "")


class PlanReady(Event):
    personal = ("plan_markdown",)
    plan_markdown: str


class PlanEdited(Event):
    personal = ("plan_markdown",)
    plan_markdown: str


class PlanApproved(Event):
    personal = personal_actor = ("approved_by",)
    approved_by: str


class ToolCalled(Event):
    tool: str
    arguments_json: str
    result: str
    idempotency_key: str


class FilesChanged(Event):
    attempt: int = Field(ge=1)
    patch: str = Field(description="unified diff against the workspace after earlier patches")
    paths: tuple[str, ...] = ()


class CodingFinished(Event):
    attempt: int = Field(ge=1)
    summary: str = ""
    base_commit: str = Field(
        default="",
        description="the commit the job's base ref named when the coder first built its "
        "workspace; later attempts and the tester build on it, whatever the branch does since "
        "(empty: not a git source, or not known)",
    )


class CandidateOutcome(Contract):
    """One candidate of a test-driven selection: what it changed and how the visible tests went
    in its own workspace (``tests_passed`` None: the tests could not be run or read)."""

    index: int = Field(ge=1)
    paths: tuple[str, ...] = ()
    diff_lines: int = Field(default=0, ge=0, description="lines added plus lines removed")
    tests_passed: bool | None = None
    passed: int = Field(default=0, ge=0, description="tests that passed, as the run reported")
    failed: int = Field(default=0, ge=0, description="tests that failed or errored")
    note: str = Field(default="", description="why it ranks where it does, when not by tests")


class CandidatesCompared(Event):
    """The coder ran several candidate attempts of one step (``BDG_CODER_CANDIDATES``), each in
    its own workspace, and keeps ``chosen``: the most passing visible tests, then the smallest
    change. Recorded with the attempt's reaction, before its FilesChanged."""

    attempt: int = Field(ge=1)
    chosen: int = Field(ge=1)
    candidates: tuple[CandidateOutcome, ...] = Field(min_length=2)


FailToPassVerdict = Literal[
    "proven", "not_proven", "no_test", "not_required", "inconclusive", "off"
]
BeforeStatus = Literal["failed", "error", "not run", "crashed", "timed out", "install failed"]


class FlippedTest(Contract):
    """A test that did not pass on the base code (``before`` says how) and passes on the change."""

    test: str = Field(max_length=500)
    before: BeforeStatus


class FailToPass(Contract):
    """The tester's fail-to-pass check: the change's test files run on the base code too.
    ``proven``: some test fails there and passes on the change (``tests``); ``not_proven``: none
    does; ``no_test``: a behaviour change with no test; ``not_required``: the change touches no
    source code (or the goal reads as a refactor); ``inconclusive``: the base could not be built
    (``note`` says why); ``off``: not checked (``BDG_TEST_REQUIRE_FAILING_FIRST``)."""

    verdict: FailToPassVerdict
    tests: tuple[FlippedTest, ...] = Field(default=(), max_length=50)
    test_files: tuple[str, ...] = Field(default=(), description="the change's test files")
    note: str = Field(default="", max_length=2000)


class TestResults(Contract):
    total: int = Field(default=0, ge=0)
    failed: int = Field(default=0, ge=0)
    coverage: float | None = Field(default=None, ge=0, le=100)
    output_tail: str = ""
    browser: str = Field(
        default="", max_length=1000, description="the browser check: what it found, or why not run"
    )
    screenshot: str = Field(
        default="",
        pattern=r"^([0-9a-f]{64})?$",
        description="the browser check's PNG: its sha256 among the tester's artifacts",
    )
    fail_to_pass: FailToPass | None = Field(
        default=None, description="the fail-to-pass check; null: not run (the tests failed)"
    )

    def headline(self) -> str:
        """What the run came to in a line: "2 of 5 tests failed", or, when every test passed
        and the fail-to-pass check refused the change, that none of them fails without it."""
        check = self.fail_to_pass
        if check is not None and check.verdict in _UNPROVEN and self.failed == 0:
            passed = "the test passed" if self.total == 1 else f"all {self.total} tests passed"
            return f"{passed}, {_UNPROVEN[check.verdict]}"
        return f"{self.failed} of {self.total} tests failed"


# How a refused fail-to-pass check reads after "all N tests passed".
_UNPROVEN: dict[str, str] = {
    "not_proven": "but none of them fails without the change",
    "no_test": "but the change adds no test, and none of the project's tests fails without it",
}


def _results_v1_v2(state: dict[str, Any]) -> None:
    results = state.get("results")
    if isinstance(results, dict):
        results.setdefault("browser", "")
        results.setdefault("screenshot", "")


def _results_v2_v3(state: dict[str, Any]) -> None:
    results = state.get("results")
    if isinstance(results, dict):
        results.setdefault("fail_to_pass", None)


class TestsPassed(Event):
    """v2: ``results`` says what the browser check found and names its screenshot; v3: what
    the fail-to-pass check found (``results.fail_to_pass``)."""

    class_version = 3

    attempt: int = Field(ge=1)
    results: TestResults

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        _results_v1_v2(state)

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        _results_v2_v3(state)


class TestsFailed(Event):
    """v2: ``results`` says what the browser check found and names its screenshot; v3: what
    the fail-to-pass check found (``results.fail_to_pass``)."""

    class_version = 3

    attempt: int = Field(ge=1)
    results: TestResults
    analysis: str = ""

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        _results_v1_v2(state)

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        _results_v2_v3(state)


class ReviewCompleted(Event):
    approved: bool
    score: int = Field(ge=1, le=10)
    notes: str = ""


class PreviewMeasured(Event):
    """The deployer's Lighthouse scores of the job's preview release (no production traffic),
    measured before the deploy is offered for approval; a category below ``bar`` ends the job
    there (the operator's ``BDG_PREVIEW_MIN_SCORE``)."""

    release: str = Field(min_length=1)
    url: str = Field(min_length=1)
    scores: dict[str, int] = Field(description="category -> 0..100")
    bar: int = Field(ge=0, le=100)

    def below_bar(self) -> dict[str, int]:
        return {c: s for c, s in self.scores.items() if s < self.bar}

    def line(self) -> str:
        return ", ".join(f"{c} {s}" for c, s in self.scores.items())


APPROVAL_DIGEST = r"^sha256:[0-9a-f]{64}$"


class DeployAwaitingApproval(Event):
    """v2 added ``digest``: what the approver is shown and must name, the sha256 of the base
    commit, the patches and the artifact manifest ("" when asked before digests)."""

    class_version = 2

    target: str
    preview: str = ""
    digest: str = Field(default="", pattern=rf"{APPROVAL_DIGEST}|^$")

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state.setdefault("digest", "")


class DeployApproved(Event):
    """v2 added ``digest``: the digest approved, the one the deployer must publish ("" when
    approved before digests)."""

    class_version = 2
    personal = personal_actor = ("approved_by",)

    approved_by: str
    digest: str = Field(default="", pattern=rf"{APPROVAL_DIGEST}|^$")

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state.setdefault("digest", "")


class DeliveredBranch(Contract):
    """A change delivered as a git branch: where, which branch, which commit; and, when the
    branch was pushed to the repository's host, the pull request opened for it."""

    repository: str = Field(min_length=1, description="the repository holding the branch")
    branch: str = Field(min_length=1)
    commit: str = Field(min_length=1)
    pull_request: str = Field(default="", description="the pull request's URL (none: not pushed)")


class Deployed(Event):
    """v2 added ``branch``: where the default deploy step delivered the change (none: a
    recorded or provider deploy); v3 ``branch.pull_request``: the pull request opened for it."""

    class_version = 3

    url: str
    canary: bool = False
    branch: DeliveredBranch | None = None

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state.setdefault("branch", None)

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        if state.get("branch") is not None:
            state["branch"].setdefault("pull_request", "")

    @property
    def branch_only(self) -> bool:
        """The deploy is the branch (and its pull request): no site was published, and what
        shows the job says "delivered as branch" rather than "deployed"."""
        b = self.branch
        return b is not None and self.url in (b.pull_request, f"file://{b.repository}#{b.branch}")


class CanaryPromoted(Event):
    url: str


class RollbackRequested(Event):
    personal = ("reason",)
    reason: str


class RolledBack(Event):
    to_url: str = ""


class LlmCalled(Event):
    role: str
    model: str
    request_hash: str
    response: str
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    cost_usd: float = Field(ge=0)


class SettingsRecorded(Event):
    """The settings that shape a service's requests in this job from here on: those that
    differ from the service's defaults (none recorded: the defaults). A replay re-runs the
    service with them, whatever the replaying environment says."""

    service: str = Field(min_length=1)
    settings: dict[str, str] = Field(default_factory=dict)


class StepFailed(Event):
    step: Step
    service: str
    reason: str
    failed_event_version: int = Field(ge=1, description="the event whose handling failed")
    deliveries: int = Field(default=0, ge=0)


class StepRetried(Event):
    step: Step
    service: str
    failed_event_version: int = Field(ge=1)


class JobPaused(Event):
    reason: str = ""


class JobResumed(Event):
    """The job went back to the state it was paused in."""


class JobCancelled(Event):
    reason: str = ""


class BudgetExceeded(Event):
    """v2 added ``cap_key`` and ``period``: the cap reached and its period (a month, or "" for
    a job's cap), what the auditor's one email per cap reached is keyed on (None before)."""

    class_version = 2

    limit_usd: float = Field(ge=0)
    spent_usd: float = Field(ge=0)
    cap_key: str | None = Field(default=None, min_length=1, max_length=300)
    period: str | None = Field(default=None, pattern=r"^(\d{4}-\d{2})?$")

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state.setdefault("cap_key", None)
        state.setdefault("period", None)


class BudgetRaised(Event):
    limit_usd: float = Field(ge=0)


ALL_EVENTS: tuple[type[Event], ...] = tuple(
    cls for cls in Event.registry.values() if cls.__module__ == __name__
)

__all__ = ["ALL_EVENTS", "JobState", "PlanApproval", "PlanApprovalMode", "Step"]
__all__ += [c.__name__ for c in ALL_EVENTS]
