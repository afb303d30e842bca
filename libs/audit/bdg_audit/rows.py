"""Which job events are auditable, and the row each one gives: pure, dispatch on classes.

A row says who (``userId``, and ``by``: the service or user that decided), what (``action``,
``params``), what it cost and when. Large texts (plans, patches, tool results) are audited by
their sha256 and size, not copied: the audit file proves what happened without becoming a
second copy of the log.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bdg_contracts import events as ev
from bdg_contracts import tool_events as tev
from bdg_contracts.base import Event

Params = dict[str, Any]


@dataclass(frozen=True)
class AuditRow:
    """One row before signing; ``cost`` and ``timestamp`` are the strings written to the file."""

    job_id: str
    user_id: str
    action: str
    params: Params
    cost: str
    timestamp: str


def digest_of(text: str) -> Params:
    return {"sha256": hashlib.sha256(text.encode()).hexdigest(), "chars": len(text)}


def _arguments(arguments_json: str) -> Any:
    try:
        return json.loads(arguments_json)
    except ValueError:  # a model's malformed arguments are audited as they came
        return arguments_json


def _tool(e: ev.ToolCalled | tev.ToolCallRequested | tev.ToolCallRefused) -> Params:
    return {"tool": e.tool, "arguments": _arguments(e.arguments_json), "key": e.idempotency_key}


def _tests(e: ev.TestsPassed | ev.TestsFailed) -> Params:
    r = e.results
    return {
        "attempt": e.attempt,
        "passed": isinstance(e, ev.TestsPassed),
        "total": r.total,
        "failed": r.failed,
        "coverage": r.coverage,
    }


# Event class -> (action, params). Classes not listed are not auditable (drafts, critiques,
# code context): internal steps whose outcome is audited by the events they lead to.
ACTIONS: dict[type[Event], tuple[str, Callable[[Any], Params]]] = {
    ev.JobRequested: (
        "job.requested",
        lambda e: {
            "goal": e.goal,
            "repo": e.repo,
            "base_ref": e.base_ref,
            "plan_approval": e.plan_approval,
            "models": dict(e.models),
        },
    ),
    ev.PlanReady: ("plan.version", lambda e: {"plan": digest_of(e.plan_markdown)}),
    ev.PlanEdited: ("plan.edited", lambda e: {"plan": digest_of(e.plan_markdown)}),
    ev.PlanApproved: ("plan.approved", lambda e: {"approved_by": e.approved_by}),
    ev.ToolCalled: ("tool.called", lambda e: {**_tool(e), "result": digest_of(e.result)}),
    tev.ToolCallRequested: ("tool.approval_requested", lambda e: {**_tool(e), "why": e.reason}),
    tev.ToolCallApproved: (
        "tool.approved",
        lambda e: {"call_id": e.call_id, "approved_by": e.approved_by},
    ),
    tev.ToolCallDenied: (
        "tool.denied",
        lambda e: {"call_id": e.call_id, "denied_by": e.denied_by, "why": e.reason},
    ),
    tev.ToolCallRefused: ("tool.refused", lambda e: {**_tool(e), "why": e.reason}),
    ev.FilesChanged: (
        "files.changed",
        lambda e: {"attempt": e.attempt, "paths": list(e.paths), "patch": digest_of(e.patch)},
    ),
    ev.LlmCalled: (
        "model.called",
        lambda e: {
            "role": e.role,
            "model": e.model,
            "prompt_tokens": e.prompt_tokens,
            "completion_tokens": e.completion_tokens,
            "request": e.request_hash,
        },
    ),
    ev.TestsPassed: ("tests.ran", _tests),
    ev.TestsFailed: ("tests.ran", _tests),
    ev.ReviewCompleted: (
        "review.completed",
        lambda e: {"approved": e.approved, "score": e.score},
    ),
    ev.DeployAwaitingApproval: ("deploy.awaiting_approval", lambda e: {"target": e.target}),
    ev.DeployApproved: ("deploy.approved", lambda e: {"approved_by": e.approved_by}),
    ev.Deployed: ("deploy.done", lambda e: {"url": e.url, "canary": e.canary}),
    ev.CanaryPromoted: ("deploy.promoted", lambda e: {"url": e.url}),
    ev.RollbackRequested: ("rollback.requested", lambda e: {"why": e.reason}),
    ev.RolledBack: ("rollback.done", lambda e: {"to_url": e.to_url}),
    ev.BudgetExceeded: (
        "budget.exceeded",
        lambda e: {"limit_usd": e.limit_usd, "spent_usd": e.spent_usd},
    ),
    ev.BudgetRaised: ("budget.raised", lambda e: {"limit_usd": e.limit_usd}),
    ev.StepFailed: (
        "job.failed",
        lambda e: {"step": e.step.value, "service": e.service, "why": e.reason},
    ),
    ev.StepRetried: ("job.retried", lambda e: {"step": e.step.value, "service": e.service}),
    ev.JobPaused: ("job.paused", lambda e: {"why": e.reason}),
    ev.JobResumed: ("job.resumed", lambda e: {}),
    ev.JobCancelled: ("job.cancelled", lambda e: {"why": e.reason}),
}


def cost_text(usd: float) -> str:
    """Fixed notation, no float noise: the string is what gets signed."""
    return f"{usd:.10f}".rstrip("0").rstrip(".") or "0"


def timestamp_text(event: Event) -> str:
    return event.occurred_at.isoformat(timespec="microseconds")


def row_of(event: Event, job_user: str) -> AuditRow | None:
    """The event's row, or None when the event is not auditable."""
    action = ACTIONS.get(type(event))
    if action is None:
        return None
    name, params_of = action
    cost = event.cost_usd if isinstance(event, ev.LlmCalled) else 0.0
    return AuditRow(
        job_id=str(event.job_id),
        user_id=event.user_id or job_user,
        action=name,
        params={**params_of(event), "by": event.producer, "version": event.version},
        cost=cost_text(cost),
        timestamp=timestamp_text(event),
    )


def rows_of(history: Iterable[Event]) -> list[AuditRow]:
    """The auditable rows of a job's history, in log order."""
    rows: list[AuditRow] = []
    job_user = ""
    for event in history:
        if isinstance(event, ev.JobRequested):
            job_user = event.user_id or ""
        row = row_of(event, job_user)
        if row is not None:
            rows.append(row)
    return rows
