"""Gated tool calls: list the calls a job waits on, approve or deny one (the job resumes)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Path

from bdg_contracts import tool_events as tev
from bdg_gateway.deps import Commands, CurrentCaller
from bdg_gateway.strict_json import StrictJsonRoute
from bdg_gateway.views import JobView, View
from bdg_jobs.store import Recorded
from bdg_jobs.user_commands import Caller, JobCommands
from bdg_tools.approvals import ToolApprovals

router = APIRouter(prefix="/jobs/{job_id}/tool-calls", tags=["tools"], route_class=StrictJsonRoute)
CallId = Annotated[str, Path(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$", description="the call's ULID")]


class AwaitingCallView(View):
    call_id: str
    tool: str
    arguments_json: str
    reason: str
    requested_at: datetime
    requested_by: str


async def _after(
    commands: JobCommands, caller: Caller, job_id: UUID, recorded: list[Recorded]
) -> JobView:
    at = recorded[-1].event.version if recorded else None
    return JobView.of(await commands.get(caller, job_id, at))


@router.get("")
async def awaiting_calls(
    job_id: UUID, caller: CurrentCaller, commands: Commands
) -> list[AwaitingCallView]:
    """The gated calls the job is paused for, with the reason each needs approval."""
    calls = await ToolApprovals(commands).awaiting(caller, job_id)
    return [AwaitingCallView(**vars(c)) for c in calls]


@router.post("/{call_id}/approve")
async def approve_call(
    job_id: UUID, call_id: CallId, caller: CurrentCaller, commands: Commands
) -> JobView:
    """The call runs (once) when the job's step runs again; the job resumes."""
    recorded = await ToolApprovals(commands).approve(caller, job_id, call_id)
    return await _after(commands, caller, job_id, recorded)


@router.post("/{call_id}/deny")
async def deny_call(
    job_id: UUID,
    call_id: CallId,
    caller: CurrentCaller,
    commands: Commands,
    body: Annotated[tev.DenyToolCall | None, Body()] = None,
) -> JobView:
    """The call never runs; the denial (and its reason) is its result. The job resumes."""
    recorded = await ToolApprovals(commands).deny(
        caller, job_id, call_id, body or tev.DenyToolCall()
    )
    return await _after(commands, caller, job_id, recorded)
