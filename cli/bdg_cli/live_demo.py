"""`bdg demo --live`: a real job on the bundled example repository (or --repo/--goal).

The stack, sandboxd, the model (offline local one unless an endpoint is set) and every service
as its own process (live_stack); the job with plan approval auto, each event printed as it
happens (tool calls with their arguments, model calls with their tokens, test runs with their
counts, the review), the deploy approved unless --gated (the default deploy: the change as a
branch ``bdg/<job>`` of the repository), then the summary, the model's tokens and the final
diff.
"""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from bdg_cli.context import USER_ERRORS, Connected, caller, connected
from bdg_cli.demo_repo import DEMO_GOAL, DEMO_REPO, demo_repo_path, make_demo_repo
from bdg_cli.demo_run import Outcome, Run, abandon, interrupt, run_job, summary
from bdg_cli.index import repo_commands
from bdg_cli.index_first import index_for_job
from bdg_cli.live_stack import LiveBounds, LiveStack, live_stack, running_services
from bdg_cli.live_view import show_change
from bdg_cli.own_sandbox import default_roots
from bdg_contracts import commands as cmd
from bdg_contracts.states import JobState
from bdg_jobs.sources import SourceError
from bdg_runtime.settings import Settings


@dataclass(frozen=True)
class LiveJob:
    repo: Path | None  # None: the bundled example
    goal: str | None  # None: the example's goal
    max_attempts: int
    bounds: LiveBounds


def live(home: Path | None, job: LiveJob, gated: bool, timeout: float, console: Console) -> int:
    settings = Settings() if home is None else Settings(bdg_home=home)
    previous = signal.signal(signal.SIGTERM, interrupt)  # unwind and stop what was started
    started = time.monotonic()

    def say(line: str) -> None:
        console.print(f"[bold]live[/] {line}", highlight=False)

    try:
        request, repo = _request(settings, job)
        say(f"repository {repo} at {request.base_ref[:12]}")
        roots = default_roots(settings)
        if not any(repo.is_relative_to(root) for root in roots):
            roots = (*roots, repo.parent)
        with live_stack(settings, job.bounds, roots, say) as stack:
            say(f"ready in {time.monotonic() - started:.1f} s")
            run = Run(gated, timeout, console, settings.bdg_home if stack.embedded else None)
            return asyncio.run(_live(stack, request, run))
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        return 130
    except USER_ERRORS as error:
        console.print(f"[bold red]error:[/] {error}")
        return 1
    except SourceError as error:  # --repo names no repository the job may work in
        console.print(f"[bold red]error:[/] {error}")
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
        console.print(f"demo took {time.monotonic() - started:.1f} s")


INDEX_WITHIN_SECONDS = 120.0  # the indexer's first start loads its embedding model


async def _indexed_then_run(conn: Connected, run: Run, request: cmd.RequestJob) -> Outcome:
    """The repository indexed first (the planner is shown its code), then the job."""
    repos = repo_commands(conn)
    indexed = await index_for_job(
        repos, conn.database_url, caller(), request.repo, "HEAD", INDEX_WITHIN_SECONDS
    )
    run.console.print(f"[bold]index[/] {indexed.describe()}")
    return await run_job(conn, run, request)


def _request(settings: Settings, job: LiveJob) -> tuple[cmd.RequestJob, Path]:
    if job.repo is None:
        repo = demo_repo_path(settings.bdg_home)
        commit = make_demo_repo(DEMO_REPO, repo)
    else:
        repo, commit = job.repo.expanduser().resolve(), "HEAD"
    request = cmd.RequestJob(
        goal=job.goal or DEMO_GOAL,
        repo=str(repo),
        base_ref=commit,
        plan_approval="auto",
        max_attempts=job.max_attempts,
    )
    return request, repo


async def _live(stack: LiveStack, request: cmd.RequestJob, run: Run) -> int:
    console = run.console
    async with running_services(stack) as supervised:
        console.print(f"[bold]services[/] every one its own process; logs in {stack.log_path}")
        console.print(
            "[bold]deploy[/] the change as a branch bdg/<job> of the job's repository; "
            "every step is real"
        )
        async with connected(stack.settings) as conn:
            flow = asyncio.create_task(_indexed_then_run(conn, run, request))
            await asyncio.wait(
                {flow, supervised}, timeout=run.timeout, return_when=asyncio.FIRST_COMPLETED
            )
            stopped = supervised.done()
            outcome = flow.result() if flow.done() else await abandon(flow, conn, run, stopped)
    console.print("stopped the services")
    summary(outcome, console)
    console.print(f"model calls answered by {stack.model}")
    show_change(outcome.history, console)
    return 0 if outcome.job is not None and outcome.job.state == JobState.done else 1
