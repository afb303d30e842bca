"""A person's decisions on gated tool calls (the gateway's and the CLI's use cases).

Approving or denying resumes the job and re-drives the step that asked, which then finds the
decision in the job's history: an approved call runs once, a denied one gets the denial.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from bdg_contracts import tool_events as tev
from bdg_jobs.store import Recorded
from bdg_jobs.user_commands import Caller, JobCommands


@dataclass(frozen=True)
class AwaitingCall:
    call_id: str
    tool: str
    arguments_json: str
    reason: str
    requested_at: datetime
    requested_by: str


class ToolApprovals:
    def __init__(self, commands: JobCommands) -> None:
        self.commands = commands

    async def awaiting(self, caller: Caller, job_id: UUID) -> list[AwaitingCall]:
        job = await self.commands.get(caller, job_id)
        history = await self.commands.app.history(job_id)
        return [
            AwaitingCall(e.call_id, e.tool, e.arguments_json, e.reason, e.occurred_at, e.producer)
            for e in history
            if isinstance(e, tev.ToolCallRequested) and e.call_id in job.awaiting_tool_calls
        ]

    async def approve(self, caller: Caller, job_id: UUID, call_id: str) -> list[Recorded]:
        await self.commands.get(caller, job_id)
        cause = caller.cause(self.commands.app)
        recorded = await self.commands.app.execute(
            job_id, lambda job: job.approve_tool_call(cause, call_id, caller.user_id)
        )
        await self.commands.redrive(job_id)
        return recorded

    async def deny(
        self, caller: Caller, job_id: UUID, call_id: str, command: tev.DenyToolCall
    ) -> list[Recorded]:
        await self.commands.get(caller, job_id)
        cause = caller.cause(self.commands.app)
        recorded = await self.commands.app.execute(
            job_id,
            lambda job: job.deny_tool_call(cause, call_id, caller.user_id, command.reason),
        )
        await self.commands.redrive(job_id)
        return recorded
