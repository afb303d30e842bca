"""What a job waits for and why it stopped, from the job and its history (pure: no I/O).

`bdg job show` prints these so a person knows what is asked of them and the exact command that
moves the job on; `bdg job tools` and the gateway's `/tool-calls` routes act on the same calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from bdg_contracts import events as ev
from bdg_contracts import tool_events as tev
from bdg_contracts.base import Event
from bdg_contracts.states import JobState
from bdg_jobs.domain import Job

E = TypeVar("E", bound=Event)


@dataclass(frozen=True)
class Waiting:
    """One thing a job waits for: what, the details, and the commands that continue it."""

    what: str
    detail: str
    commands: tuple[str, ...]


def last_of(history: Sequence[Event], cls: type[E]) -> E | None:
    return next((e for e in reversed(history) if isinstance(e, cls)), None)


def failure_reason(job: Job, history: Sequence[Event]) -> str | None:
    """Why a failed job stopped: its last StepFailed's reason (whole)."""
    if job.state != JobState.failed:
        return None
    failed = last_of(history, ev.StepFailed)
    return failed.reason if failed is not None else None


def last_analysis(history: Sequence[Event]) -> ev.TestsFailed | None:
    return last_of(history, ev.TestsFailed)


def waiting_for(job: Job, history: Sequence[Event]) -> list[Waiting]:
    """What a person must do for the job to go on (nothing while a service works on it)."""
    jid = str(job.job_id)
    if job.awaiting_tool_calls:
        asked = {e.call_id: e for e in history if isinstance(e, tev.ToolCallRequested)}
        return [
            Waiting(
                "a gated tool call",
                f"{call_id}: {tool} {_args(asked.get(call_id))} ({_reason(asked.get(call_id))})",
                (
                    f"bdg job approve-tool {jid} {call_id}",
                    f"bdg job deny-tool {jid} {call_id} --reason '...'",
                ),
            )
            for call_id, tool in job.awaiting_tool_calls.items()
        ]
    if job.state == JobState.awaiting_plan_approval:
        return [
            Waiting(
                "plan approval",
                "the planner's plan (bdg job show --plan, or bdg job plan for every version)",
                (f"bdg job plan {jid}", f"bdg job approve {jid}"),
            )
        ]
    if job.state == JobState.awaiting_deploy_approval:
        asked_deploy = last_of(history, ev.DeployAwaitingApproval)
        target = asked_deploy.target if asked_deploy else "?"
        preview = f": {asked_deploy.preview}" if asked_deploy and asked_deploy.preview else ""
        digest = asked_deploy.digest if asked_deploy else ""
        shown = f" (digest {digest})" if digest else ""
        approve = f"bdg job approve {jid} --deploy" + (f" --digest {digest}" if digest else "")
        return [Waiting("deploy approval", f"to {target}{preview}{shown}", (approve,))]
    if job.state == JobState.suspended_budget:
        over = last_of(history, ev.BudgetExceeded)
        spent = f"spent ${over.spent_usd:.4f} of ${over.limit_usd:.4f}" if over else "over budget"
        raised = max((over.limit_usd if over else job.cost_usd) * 2, job.cost_usd + 1)
        return [Waiting("budget", spent, (f"bdg job budget {jid} --limit {raised:.2f}",))]
    if job.state == JobState.paused:
        paused = last_of(history, ev.JobPaused)
        who = paused.producer if paused else "?"
        why = f": {paused.reason}" if paused and paused.reason else ""
        return [Waiting("resume", f"paused by {who}{why}", (f"bdg job resume {jid}",))]
    if job.state == JobState.failed:
        step = f"{job.failed_step} by {job.failed_service}" if job.failed_step else "a step"
        return [Waiting("a retry", f"{step} failed", (f"bdg job retry {jid}",))]
    return []


def _args(event: tev.ToolCallRequested | None) -> str:
    from bdg_cli.render import short_arguments  # the attempts view's form, imported late

    return short_arguments(event.arguments_json, 60) if event is not None else ""


def _reason(event: tev.ToolCallRequested | None) -> str:
    return event.reason if event is not None else "needs approval"
