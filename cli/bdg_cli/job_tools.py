"""`bdg job tools|approve-tool|deny-tool`: the gated tool calls a job waits on, and a person's
decision on each (the use cases behind the gateway's ``/jobs/{id}/tool-calls`` routes)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bdg_cli.context import caller, connected, run
from bdg_cli.jobs import steer
from bdg_cli.options import JobId, Tenant, User
from bdg_contracts import tool_events as tev
from bdg_jobs.attempt_tool_calls import short_arguments
from bdg_tools.approvals import AwaitingCall, ToolApprovals

console = Console(highlight=False, soft_wrap=True)
CallId = Annotated[str, typer.Argument(metavar="CALL", help="the call's id (from bdg job tools)")]
Json = Annotated[bool, typer.Option("--json", help="machine-readable output (stable keys)")]


def calls_json(job_id: str, calls: list[AwaitingCall]) -> str:
    """One object per call: ``call_id``, ``tool``, ``arguments`` (the JSON text), ``reason``,
    ``requested_at``, ``requested_by``, and the commands that decide it."""
    return json.dumps(
        [
            {
                "call_id": c.call_id,
                "tool": c.tool,
                "arguments": c.arguments_json,
                "reason": c.reason,
                "requested_at": c.requested_at.isoformat(),
                "requested_by": c.requested_by,
                "approve": f"bdg job approve-tool {job_id} {c.call_id}",
                "deny": f"bdg job deny-tool {job_id} {c.call_id} --reason '...'",
            }
            for c in calls
        ],
        indent=2,
    )


def calls_table(job_id: str, calls: list[AwaitingCall]) -> Table:
    table = Table(title="tool calls waiting for approval", title_justify="left", box=None)
    for name in ("call", "tool", "arguments", "why gated"):
        table.add_column(name, no_wrap=name in ("call", "tool"), overflow="fold")
    for c in calls:
        table.add_row(c.call_id, c.tool, short_arguments(c.arguments_json, 60), c.reason)
    table.caption = f"bdg job approve-tool {job_id} CALL  |  bdg job deny-tool {job_id} CALL"
    table.caption_justify = "left"
    return table


def tools(job_id: JobId, as_json: Json = False, tenant: Tenant = None, user: User = None) -> None:
    """The gated tool calls the job waits on."""

    async def main() -> list[AwaitingCall]:
        async with connected() as conn:
            return await ToolApprovals(conn.commands).awaiting(caller(tenant, user), job_id)

    calls = run(main())
    if as_json:
        print(calls_json(str(job_id), calls))
    elif not calls:
        console.print(f"job {job_id} waits on no tool call")
    else:
        console.print(calls_table(str(job_id), calls))


def approve_tool(job_id: JobId, call_id: CallId, tenant: Tenant = None, user: User = None) -> None:
    """Approve a gated tool call: it runs (once) and the job resumes."""
    steer(
        job_id,
        tenant,
        user,
        lambda conn, who: ToolApprovals(conn.commands).approve(who, job_id, call_id),
    )


def deny_tool(
    job_id: JobId,
    call_id: CallId,
    reason: Annotated[str, typer.Option(help="why, told to the model as the call's result")] = "",
    tenant: Tenant = None,
    user: User = None,
) -> None:
    """Deny a gated tool call: it never runs, the denial is its result; the job resumes."""
    command = tev.DenyToolCall(reason=reason)
    steer(
        job_id,
        tenant,
        user,
        lambda conn, who: ToolApprovals(conn.commands).deny(who, job_id, call_id, command),
    )


def register(app: typer.Typer) -> None:
    app.command("tools")(tools)
    app.command("approve-tool")(approve_tool)
    app.command("deny-tool")(deny_tool)
