"""The state machine as data: which states allow each event, and where each event leads.

Kept apart from the aggregate so a table-driven test can walk every state x event pair.
"""

from __future__ import annotations

from bdg_contracts import events as ev
from bdg_contracts import tool_events as tev
from bdg_contracts.base import Event
from bdg_contracts.states import ACTIVE_STATES, WORKING_STATES, JobState

S = JobState
ALL_STATES = frozenset(JobState)
NOT_TERMINAL = ALL_STATES - {S.done, S.cancelled}

# Event class -> states in which the event may be appended.
ALLOWED: dict[type[Event], frozenset[JobState]] = {
    ev.PlanDrafted: frozenset({S.planning}),
    ev.PlanCritiqued: frozenset({S.planning}),
    ev.PlanReady: frozenset({S.planning}),
    ev.PlanEdited: frozenset({S.awaiting_plan_approval}),
    ev.PlanApproved: frozenset({S.awaiting_plan_approval}),
    ev.ToolCalled: frozenset({S.coding}),
    tev.ToolCallRequested: frozenset({S.coding}),
    tev.ToolCallApproved: frozenset({S.paused}),
    tev.ToolCallDenied: frozenset({S.paused}),
    tev.ToolCallRefused: frozenset({S.coding}),
    tev.ToolCallRejected: frozenset({S.coding}),
    # the coder's change; and tests the tester scaffolded for a project that had none
    ev.FilesChanged: frozenset({S.coding, S.testing}),
    tev.CodeContextRetrieved: frozenset({S.planning, S.coding, S.reviewing}),
    ev.CandidatesCompared: frozenset({S.coding}),
    ev.CodingFinished: frozenset({S.coding}),
    ev.TestsPassed: frozenset({S.testing}),
    ev.TestsFailed: frozenset({S.testing}),
    ev.ReviewCompleted: frozenset({S.reviewing}),
    ev.PreviewMeasured: frozenset({S.reviewing}),
    ev.DeployAwaitingApproval: frozenset({S.reviewing}),
    ev.DeployApproved: frozenset({S.awaiting_deploy_approval}),
    ev.Deployed: frozenset({S.deploying}),
    ev.CanaryPromoted: frozenset({S.deploying}),
    ev.RollbackRequested: frozenset({S.done}),
    ev.RolledBack: frozenset({S.deploying}),
    # A model call that was paid for is a fact whatever happened to the job meanwhile.
    ev.LlmCalled: ALL_STATES,
    ev.SettingsRecorded: WORKING_STATES,
    ev.StepFailed: WORKING_STATES,
    ev.StepRetried: frozenset({S.failed}),
    ev.JobPaused: ACTIVE_STATES,
    ev.JobResumed: frozenset({S.paused}),
    ev.JobCancelled: NOT_TERMINAL,
    ev.BudgetExceeded: ACTIVE_STATES | {S.paused},
    ev.BudgetRaised: NOT_TERMINAL,
}

# Event class -> the state it leads to when that does not depend on the event's fields.
FIXED_TARGET: dict[type[Event], JobState] = {
    ev.JobRequested: S.planning,
    ev.PlanReady: S.awaiting_plan_approval,
    ev.PlanApproved: S.coding,
    ev.CodingFinished: S.testing,
    ev.TestsPassed: S.reviewing,
    ev.DeployAwaitingApproval: S.awaiting_deploy_approval,
    ev.DeployApproved: S.deploying,
    ev.CanaryPromoted: S.done,
    ev.RollbackRequested: S.deploying,
    ev.RolledBack: S.done,
    ev.StepFailed: S.failed,
    ev.JobPaused: S.paused,
    tev.ToolCallRequested: S.paused,
    ev.JobCancelled: S.cancelled,
    ev.BudgetExceeded: S.suspended_budget,
}
