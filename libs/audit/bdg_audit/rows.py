"""Which job events are auditable, and the row each one gives: pure, dispatch on classes.

A row says who (``userId``, and ``by``: the service or user that decided), what (``action``,
``params``), what it cost and when. Large texts (plans, patches, tool results) are audited by
their sha256 and size, not copied: the audit file proves what happened without becoming a
second copy of the log.

People are written as ``Who`` says: in plain by default, as keyed pseudonyms when the auditor
has the data keys (``bdg_jobs.personal.pseudonyms``). A signed file cannot be changed after an
erasure without breaking its chain, so it never holds what an erasure must remove: a person's
id is a pseudonym under their own data key, and what they typed a keyed digest; once the key is
destroyed, nobody can tie either to them, and every signature still verifies.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from bdg_contracts import events as ev
from bdg_contracts import privacy_events as pev
from bdg_contracts import tool_events as tev
from bdg_contracts.base import Event

Params = dict[str, Any]
USER_PRODUCER = "user:"


class Who(Protocol):
    """How people appear in rows: ``user`` for an id, ``text`` for what the job's owner typed."""

    def user(self, user: str) -> str: ...

    def text(self, text: str) -> Any: ...


class People(Protocol):
    def of_job(self, tenant: str, owner: str) -> Who:
        """How the people of one job (of ``owner``, in ``tenant``) are written."""
        ...


class InPlain:
    def of_job(self, tenant: str, owner: str) -> Who:
        return self

    def user(self, user: str) -> str:
        return user

    def text(self, text: str) -> Any:
        return text


IN_PLAIN = InPlain()


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


def _tool(e: ev.ToolCalled | tev.ToolCallRequested | tev.ToolCallRefused, who: Who) -> Params:
    return {"tool": e.tool, "arguments": _arguments(e.arguments_json), "key": e.idempotency_key}


def _tests(e: ev.TestsPassed | ev.TestsFailed, who: Who) -> Params:
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
ACTIONS: dict[type[Event], tuple[str, Callable[[Any, Who], Params]]] = {
    ev.JobRequested: (
        "job.requested",
        lambda e, who: {
            "goal": who.text(e.goal),
            "repo": who.text(e.repo),
            "base_ref": e.base_ref,
            "plan_approval": e.plan_approval,
            "models": dict(e.models),
        },
    ),
    ev.PlanReady: ("plan.version", lambda e, who: {"plan": digest_of(e.plan_markdown)}),
    ev.PlanEdited: ("plan.edited", lambda e, who: {"plan": digest_of(e.plan_markdown)}),
    ev.PlanApproved: ("plan.approved", lambda e, who: {"approved_by": who.user(e.approved_by)}),
    ev.ToolCalled: ("tool.called", lambda e, who: {**_tool(e, who), "result": digest_of(e.result)}),
    tev.ToolCallRequested: (
        "tool.approval_requested",
        lambda e, who: {**_tool(e, who), "why": e.reason},
    ),
    tev.ToolCallApproved: (
        "tool.approved",
        lambda e, who: {"call_id": e.call_id, "approved_by": who.user(e.approved_by)},
    ),
    tev.ToolCallDenied: (
        "tool.denied",
        lambda e, who: {
            "call_id": e.call_id,
            "denied_by": who.user(e.denied_by),
            "why": who.text(e.reason),
        },
    ),
    tev.ToolCallRefused: ("tool.refused", lambda e, who: {**_tool(e, who), "why": e.reason}),
    ev.FilesChanged: (
        "files.changed",
        lambda e, who: {"attempt": e.attempt, "paths": list(e.paths), "patch": digest_of(e.patch)},
    ),
    ev.LlmCalled: (
        "model.called",
        lambda e, who: {
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
        lambda e, who: {"approved": e.approved, "score": e.score},
    ),
    ev.DeployAwaitingApproval: ("deploy.awaiting_approval", lambda e, who: {"target": e.target}),
    ev.DeployApproved: ("deploy.approved", lambda e, who: {"approved_by": who.user(e.approved_by)}),
    ev.Deployed: ("deploy.done", lambda e, who: {"url": e.url, "canary": e.canary}),
    ev.CanaryPromoted: ("deploy.promoted", lambda e, who: {"url": e.url}),
    ev.RollbackRequested: ("rollback.requested", lambda e, who: {"why": who.text(e.reason)}),
    ev.RolledBack: ("rollback.done", lambda e, who: {"to_url": e.to_url}),
    ev.BudgetExceeded: (
        "budget.exceeded",
        lambda e, who: {"limit_usd": e.limit_usd, "spent_usd": e.spent_usd},
    ),
    ev.BudgetRaised: ("budget.raised", lambda e, who: {"limit_usd": e.limit_usd}),
    ev.StepFailed: (
        "job.failed",
        lambda e, who: {"step": e.step.value, "service": e.service, "why": e.reason},
    ),
    ev.StepRetried: ("job.retried", lambda e, who: {"step": e.step.value, "service": e.service}),
    ev.JobPaused: ("job.paused", lambda e, who: {"why": e.reason}),
    ev.JobResumed: ("job.resumed", lambda e, who: {}),
    ev.JobCancelled: ("job.cancelled", lambda e, who: {"why": e.reason}),
    pev.PersonalDataErased: (
        "personal_data.erased",
        lambda e, who: {
            "subject": e.subject,
            "requested_by": (
                e.requested_by if e.requested_by == pev.SELF else who.user(e.requested_by)
            ),
            "categories": [c.value for c in e.categories],
            "jobs": e.jobs,
        },
    ),
}


def cost_text(usd: float) -> str:
    """Fixed notation, no float noise: the string is what gets signed."""
    return f"{usd:.10f}".rstrip("0").rstrip(".") or "0"


def timestamp_text(event: Event) -> str:
    return event.occurred_at.isoformat(timespec="microseconds")


def _by(producer: str, who: Who) -> str:
    if producer.startswith(USER_PRODUCER):
        return USER_PRODUCER + who.user(producer[len(USER_PRODUCER) :])
    return producer


def row_of(event: Event, job_user: str, who: Who = IN_PLAIN) -> AuditRow | None:
    """The event's row, or None when the event is not auditable."""
    action = ACTIONS.get(type(event))
    if action is None:
        return None
    name, params_of = action
    cost = event.cost_usd if isinstance(event, ev.LlmCalled) else 0.0
    user = event.user_id or job_user
    return AuditRow(
        job_id=str(event.job_id),
        user_id=who.user(user) if user else "",
        action=name,
        params={
            **params_of(event, who),
            "by": _by(event.producer, who),
            "version": event.version,
        },
        cost=cost_text(cost),
        timestamp=timestamp_text(event),
    )


def rows_of(history: Iterable[Event], people: People = IN_PLAIN) -> list[AuditRow]:
    """The auditable rows of a job's history, in log order."""
    rows: list[AuditRow] = []
    job_user = ""
    who: Who | None = None
    for event in history:
        if isinstance(event, ev.JobRequested):
            job_user = event.user_id or ""
        if who is None or isinstance(event, ev.JobRequested):
            who = people.of_job(event.tenant_id, job_user)
        row = row_of(event, job_user, who)
        if row is not None:
            rows.append(row)
    return rows
