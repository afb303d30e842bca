"""Job states, the steps that own them, and who approves a plan."""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    planning = "planning"
    awaiting_plan_approval = "awaiting_plan_approval"
    coding = "coding"
    testing = "testing"
    reviewing = "reviewing"
    awaiting_deploy_approval = "awaiting_deploy_approval"
    deploying = "deploying"
    done = "done"
    failed = "failed"
    cancelled = "cancelled"
    paused = "paused"
    suspended_budget = "suspended_budget"


class PlanApproval(StrEnum):
    """Who approves a job's plan: nobody (``auto``) or a person (``gated``). Stored as the value;
    the command spells it ``events.PlanApprovalMode`` (a Literal: the API schema is unchanged)."""

    auto = "auto"
    gated = "gated"


class Step(StrEnum):
    """A unit of work done by one service; a failed step is retried by command."""

    planning = "planning"
    coding = "coding"
    testing = "testing"
    reviewing = "reviewing"
    deploying = "deploying"


ACTIVE_STATES = frozenset(
    {
        JobState.planning,
        JobState.awaiting_plan_approval,
        JobState.coding,
        JobState.testing,
        JobState.reviewing,
        JobState.awaiting_deploy_approval,
        JobState.deploying,
    }
)
TERMINAL_STATES = frozenset({JobState.done, JobState.cancelled})
# Where a watcher stops: nothing more happens unless a person retries a failed job (which a
# new watch from the last version then follows).
ENDED_STATES = frozenset({JobState.done, JobState.failed, JobState.cancelled})
# States in which work is expected from a service (not waiting on a human).
WORKING_STATES = frozenset(
    {JobState.planning, JobState.coding, JobState.testing, JobState.reviewing, JobState.deploying}
)
STEP_STATE: dict[Step, JobState] = {
    Step.planning: JobState.planning,
    Step.coding: JobState.coding,
    Step.testing: JobState.testing,
    Step.reviewing: JobState.reviewing,
    Step.deploying: JobState.deploying,
}
