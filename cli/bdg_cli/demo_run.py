"""What the recorded and the live demo share: a run's options, following a job to its end with
the approvals given (or left to the user), and the summary."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from rich.console import Console
from rich.table import Table

from bdg_cli import render
from bdg_cli.context import Connected, caller
from bdg_cli.jobs import Follower
from bdg_contracts import commands as cmd
from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bdg_contracts.states import JobState
from bdg_jobs.domain import Job
from bdg_jobs.errors import DomainError
from bdg_jobs.projections import evolve
from bdg_tools.approvals import ToolApprovals

APPROVALS = frozenset({JobState.awaiting_plan_approval, JobState.awaiting_deploy_approval})
ENDED = frozenset({JobState.done, JobState.failed, JobState.cancelled})
WORKER = {
    JobState.planning: "planner drafting and critiquing the plan",
    JobState.coding: "coder writing patches",
    JobState.testing: "tester running the tests",
    JobState.reviewing: "planner reviewing the change",
    JobState.deploying: "deployer deploying",
    JobState.awaiting_plan_approval: "waiting for the plan approval",
    JobState.awaiting_deploy_approval: "waiting for the deploy approval",
}


@dataclass(frozen=True)
class Outcome:
    job: Job | None
    history: list[Event]
    reason: str = ""


@dataclass
class Run:
    """One demo run: its options, and the job once created."""

    gated: bool
    timeout: float
    console: Console
    home: Path | None  # named in the printed commands when the stack is embedded
    job_id: UUID | None = None
    web_app: str | None = None  # the gateway's web app, where a gated approval is one click


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


async def run_job(conn: Connected, run: Run, request: cmd.RequestJob) -> Outcome:
    """Create the job and print its events as they come until it ends, approving as it goes
    (gated tool calls too: the demo runs unattended)."""
    console, who = run.console, caller()
    job = await conn.commands.create(who, request)
    run.job_id = job.job_id
    console.print(f"[bold]job[/] {job.job_id} for {who.tenant_id}/{who.user_id}: {request.goal!r}")
    follower, asked, calls = Follower(conn, who, job.job_id), set(), set()
    with console.status("starting") as status:
        async for event in follower.events(until=lambda j: j.state in ENDED):
            console.print(render.event_line(event))
            job = follower.job or job
            status.update(f"{job.state.value}: {WORKER.get(job.state, '')}")
            for call_id, tool in list(job.awaiting_tool_calls.items()):
                if call_id not in calls:
                    calls.add(call_id)
                    console.print(f"[bold magenta]approving the {tool} call as {who.user_id}[/]")
                    await approve_tool_call(conn, job.job_id, call_id)
            if job.state in APPROVALS and job.state not in asked:
                asked.add(job.state)
                await approve(conn, job, run)
    history = await conn.app.history(job.job_id)
    return Outcome(Job.replay(history), history)


async def approve_tool_call(conn: Connected, job_id: UUID, call_id: str) -> None:
    with contextlib.suppress(DomainError):  # decided by someone else meanwhile
        await ToolApprovals(conn.commands).approve(caller(), job_id, call_id)


async def abandon(
    flow: asyncio.Task[Outcome], conn: Connected, run: Run, interrupted: bool
) -> Outcome:
    """Stop following; the job as far as it got."""
    flow.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await flow
    reason = "interrupted" if interrupted else f"timed out after {run.timeout:.0f} s"
    if run.job_id is None:
        return Outcome(None, [], reason)
    history = await conn.app.history(run.job_id)
    return Outcome(Job.replay(history), history, reason)


async def approve(conn: Connected, job: Job, run: Run) -> None:
    """Approve the plan or the deploy the job waits for, or (gated) say how to."""
    console, home = run.console, run.home
    deploy = job.state == JobState.awaiting_deploy_approval
    what = "deploy" if deploy else "plan"
    who = caller()
    if run.gated:
        prefix = f"BDG_HOME={home} " if home is not None else ""
        flag = " --deploy" if deploy else ""
        console.print(
            f"[bold magenta]the {what} waits for you:[/] "
            f"{prefix}bdg job show {job.job_id}\n  approve it with: "
            f"[bold]{prefix}bdg job approve {job.job_id}{flag}[/]"
        )
        if run.web_app is not None:
            button = "Approve & Continue" if deploy else "Approve plan"
            console.print(f"  or click [bold]{button}[/] at {run.web_app}/app/jobs/{job.job_id}")
        return
    console.print(f"[bold magenta]approving {what} as {who.user_id}[/]")
    approval = conn.commands.approve_deploy if deploy else conn.commands.approve_plan
    with contextlib.suppress(DomainError):  # approved by someone else meanwhile
        await approval(who, job.job_id)


def timeline(history: list[Event]) -> list[tuple[JobState, float | None]]:
    """(state, seconds spent in it) in the order visited, from the events' own times; the
    state the job is still in has no duration."""
    visits: list[tuple[JobState, float | None]] = []
    job: Job | None = None
    entered = history[0].occurred_at if history else None
    for event in history:
        before = job.state if job is not None else None
        job = evolve(job, event)
        if before is not None and job.state != before:
            assert entered is not None
            visits.append((before, (event.occurred_at - entered).total_seconds()))
            entered = event.occurred_at
    if job is not None:
        visits.append((job.state, None))
    return visits


def summary(outcome: Outcome, console: Console) -> None:
    job = outcome.job
    if job is None:
        console.print(f"[bold red]no job ran[/] ({outcome.reason})")
        return
    table = Table(title="summary", title_justify="left")
    table.add_column("state")
    table.add_column("seconds", justify="right")
    for state, seconds in timeline(outcome.history):
        table.add_row(render.state_text(state.value), "" if seconds is None else f"{seconds:.2f}")
    console.print(table)
    total = (outcome.history[-1].occurred_at - outcome.history[0].occurred_at).total_seconds()
    console.print(
        f"job {job.job_id}: ",
        render.state_text(job.state.value),
        f" after {len(outcome.history)} events in {total:.1f} s, cost ${job.cost_usd:.4f}",
        sep="",
    )
    if job.deployed_url:
        console.print(f"deployed at [bold]{job.deployed_url}[/]")
    failed = [e for e in outcome.history if isinstance(e, ev.StepFailed)]
    if job.state == JobState.failed and failed:  # in full: the event line shortens it
        console.print(f"[bold red]failed:[/] {failed[-1].reason}", highlight=False)
    if outcome.reason:
        console.print(f"[bold red]{outcome.reason}[/]")
