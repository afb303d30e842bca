"""`bdg demo`: the reference job end to end, on the embedded stack unless configured.

One command: the stack (embedded when DATABASE_URL/NATS_URL are unset), every service as its own
process through `bdg up`'s supervisor (logs to a file under BDG_HOME), the reference job with
each event printed as it happens, both approvals (or, with --gated, the commands to give them),
a summary, and everything it started stopped again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer
from rich.console import Console
from rich.table import Table

from bdg_cli import render
from bdg_cli.context import USER_ERRORS, Connected, caller, connected, fail
from bdg_cli.jobs import Follower
from bdg_cli.procs import Supervisor
from bdg_cli.up import default_commands
from bdg_contracts import commands as cmd
from bdg_contracts.base import Event
from bdg_contracts.states import JobState
from bdg_jobs.domain import Job
from bdg_jobs.errors import DomainError
from bdg_jobs.projections import evolve
from bdg_runtime.embedded import resolve_urls
from bdg_runtime.settings import Settings

GOAL = "Create a React PWA that stores notes in IndexedDB and works offline"
ANSWERS = Path(__file__).resolve().parents[2] / "examples" / "reference-job.json"
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


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_command(
        gated: Annotated[
            bool, typer.Option("--gated", help="leave both approvals to you (`bdg job approve`)")
        ] = False,
        home: Annotated[
            Path | None, typer.Option(help="state dir of the embedded stack [env BDG_HOME]")
        ] = None,
        timeout: Annotated[float, typer.Option(min=1, help="seconds before giving up")] = 300,
    ) -> None:
        """Run the reference job through every step, live, then stop everything."""
        raise typer.Exit(demo(home, gated, timeout, Console(highlight=False, soft_wrap=True)))


def child_env(settings: Settings, database_url: str, nats_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "NATS_URL": nats_url,
        "BDG_HOME": str(settings.bdg_home),
    }
    if "BDG_ANSWERS_FILE" not in env:
        if not ANSWERS.exists():
            fail(f"no recorded answers at {ANSWERS}; set BDG_ANSWERS_FILE")
        env["BDG_ANSWERS_FILE"] = str(ANSWERS)
    env.setdefault("JWT_SECRET", secrets.token_urlsafe(48))  # this run's gateway only
    env.setdefault("BDG_LOG_FORMAT", "text")
    return env


def demo(home: Path | None, gated: bool, timeout: float, console: Console) -> int:
    settings = Settings() if home is None else Settings(bdg_home=home)
    # Until the supervisor owns the signals, a SIGTERM must still unwind and stop the stack.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    stack, started = None, time.monotonic()
    try:
        database_url, nats_url, stack = resolve_urls(settings)
        where = f"embedded under {settings.bdg_home}" if stack else "configured"
        console.print(f"[bold]stack[/] {where} ({time.monotonic() - started:.1f} s)")
        env = child_env(settings, database_url, nats_url)
        configured = settings.model_copy(
            update={"database_url": database_url, "nats_url": nats_url}
        )
        run = Run(gated, timeout, console, home if stack else None)
        return asyncio.run(_demo(configured, env, run))
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        return 130
    except USER_ERRORS as error:
        console.print(f"[bold red]error:[/] {error}")
        return 1
    finally:
        if stack is not None:
            console.print("stopping the embedded stack")
            stack.stop()
        signal.signal(signal.SIGTERM, previous)
        console.print(f"demo took {time.monotonic() - started:.1f} s")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


async def _demo(settings: Settings, env: dict[str, str], run: Run) -> int:
    console = run.console
    log_path = settings.bdg_home.expanduser().resolve() / "demo-services.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        commands = default_commands()
        supervisor = Supervisor(commands, env, Console(file=log, width=200, highlight=False))
        supervised = asyncio.create_task(supervisor.run())
        console.print(
            f"[bold]services[/] {', '.join(commands)}; gateway on "
            f"http://{settings.gateway_host}:{settings.gateway_port}"
        )
        console.print(f"[bold]service logs[/] {log_path}")
        try:
            async with connected(settings) as conn:
                flow = asyncio.create_task(_run_job(conn, run))
                await asyncio.wait(
                    {flow, supervised}, timeout=run.timeout, return_when=asyncio.FIRST_COMPLETED
                )
                stopped = supervised.done()
                outcome = flow.result() if flow.done() else await _abandon(flow, conn, run, stopped)
        finally:
            supervisor.request_stop()
            await supervised
            console.print(f"stopped {len(commands)} services")
    _summary(outcome, console)
    return 0 if outcome.job is not None and outcome.job.state == JobState.done else 1


async def _abandon(
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


async def _run_job(conn: Connected, run: Run) -> Outcome:
    console, who = run.console, caller()
    job = await conn.commands.create(who, cmd.RequestJob(goal=GOAL, plan_approval="gated"))
    run.job_id = job.job_id
    console.print(f"[bold]job[/] {job.job_id} for {who.tenant_id}/{who.user_id}: {GOAL!r}")
    follower, asked = Follower(conn, who, job.job_id), set()
    with console.status("starting") as status:
        async for event in follower.events(until=lambda j: j.state in ENDED):
            console.print(render.event_line(event))
            job = follower.job or job
            status.update(f"{job.state.value}: {WORKER.get(job.state, '')}")
            if job.state in APPROVALS and job.state not in asked:
                asked.add(job.state)
                await _approve(conn, job, run)
    history = await conn.app.history(job.job_id)
    return Outcome(Job.replay(history), history)


async def _approve(conn: Connected, job: Job, run: Run) -> None:
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


def _summary(outcome: Outcome, console: Console) -> None:
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
    if outcome.reason:
        console.print(f"[bold red]{outcome.reason}[/]")
