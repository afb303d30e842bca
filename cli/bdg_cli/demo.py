"""`bdg demo`: the product's scenario (see scenario.py); with `--reference` the reference job end
to end on the embedded stack unless configured; with `--live`, a real job (see live_demo).

The reference job: the stack (embedded when DATABASE_URL/NATS_URL are unset), every service as
its own process through `bdg up`'s supervisor (logs to a file under BDG_HOME), the reference job
with each event printed as it happens, both approvals (or, with --gated, the commands to give
them), a summary, and everything it started stopped again.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bdg_cli.context import USER_ERRORS, connected, fail
from bdg_cli.demo_run import Run, abandon, interrupt, run_job, summary
from bdg_cli.live_demo import LiveJob
from bdg_cli.live_demo import live as run_live
from bdg_cli.live_stack import LiveBounds, home_of_this_process
from bdg_cli.procs import Supervisor
from bdg_cli.scenario import RECORDINGS as SCENARIO_RECORDINGS
from bdg_cli.scenario import Scenario, run_scenario
from bdg_cli.up import default_commands
from bdg_contracts import commands as cmd
from bdg_contracts.states import JobState
from bdg_runtime.embedded import resolve_urls
from bdg_runtime.settings import Settings

GOAL = "Create a React PWA that stores notes in IndexedDB and works offline"
ANSWERS = Path(__file__).resolve().parents[2] / "examples" / "reference-job.json"


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_command(
        gated: Annotated[
            bool,
            typer.Option(
                "--gated",
                help="leave the approvals to you (`bdg job approve`); live: the deploy's only",
            ),
        ] = False,
        home: Annotated[
            Path | None, typer.Option(help="state dir of the embedded stack (env BDG_HOME)")
        ] = None,
        timeout: Annotated[
            float | None,
            typer.Option(min=1, help="seconds before giving up (default 900; reference 300)"),
        ] = None,
        live: Annotated[
            bool,
            typer.Option(
                "--live",
                help="a real job: the example repository (or --repo), the model, the sandbox",
            ),
        ] = False,
        repo: Annotated[
            Path | None, typer.Option(help="live: your repository instead of the example")
        ] = None,
        goal: Annotated[
            str | None, typer.Option(help="live: the goal (needed with --repo)")
        ] = None,
        max_attempts: Annotated[
            int, typer.Option(min=1, max=20, help="live: coding attempts before failing")
        ] = 2,
        coder_max_steps: Annotated[
            int | None,
            typer.Option(
                min=1, help="live: model calls per coding attempt (default: env, else by strategy)"
            ),
        ] = None,
        plan_iterations: Annotated[
            int | None, typer.Option(min=1, max=20, help="live: plan drafts (default: env, else 1)")
        ] = None,
        reference: Annotated[
            bool,
            typer.Option(
                "--reference", help="the reference job instead (every step's answer recorded)"
            ),
        ] = False,
        approve: Annotated[
            bool,
            typer.Option("--approve", help="approve the deploy here instead of in the web app"),
        ] = False,
        model_endpoint: Annotated[
            bool,
            typer.Option(
                "--model-endpoint",
                help="ask a model (OPENAI_BASE_URL, else the offline one), not the recordings",
            ),
        ] = False,
        recordings: Annotated[
            Path | None,
            typer.Option(
                help="the scenario's recorded model answers from this file (default: "
                "examples/pwa-scenario/recorded-calls.jsonl; heavy-page/recorded-calls.jsonl "
                "is the job whose preview fails Lighthouse)"
            ),
        ] = None,
    ) -> None:
        """The scenario: agent-starter, "Create a React PWA...", every step real but the
        model's answers (recorded), the deploy approved in the web app (or --approve); with
        --reference the reference job, with --live a real job on the offline model."""
        console = Console(highlight=False, soft_wrap=True)
        if not live and not reference:
            if repo is not None or goal is not None or gated:
                fail("--repo, --goal and --gated need --live or --reference")
            if recordings is not None and model_endpoint:
                fail("--recordings answers instead of a model: not with --model-endpoint")
            scenario = Scenario(
                approve, timeout or 900, model_endpoint, recordings or SCENARIO_RECORDINGS
            )
            raise typer.Exit(run_scenario(home, scenario, console))
        if approve or model_endpoint or recordings is not None:
            fail(
                "--approve, --model-endpoint and --recordings are the scenario's "
                "(no --live, --reference)"
            )
        if not live:
            if repo is not None or goal is not None:
                fail("--repo and --goal need --live")
            raise typer.Exit(demo(home, gated, timeout or 300, console))
        if repo is not None and goal is None:
            fail("--repo needs --goal: what to do in it")
        bounds = LiveBounds(coder_max_steps, plan_iterations)
        job = LiveJob(repo, goal, max_attempts, bounds)
        raise typer.Exit(run_live(home, job, gated, timeout or 900, console))


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
    resolved = settings.bdg_home.expanduser().resolve()
    settings = settings.model_copy(update={"bdg_home": resolved})
    # Until the supervisor owns the signals, a SIGTERM must still unwind and stop the stack.
    previous = signal.signal(signal.SIGTERM, interrupt)
    stack, started = None, time.monotonic()
    # This process seals the job's personal fields too: with the services' master key under
    # the home, never a .bdg/master.key made in the current directory.
    undo_home = home_of_this_process(resolved)
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
        undo_home()
        console.print(f"demo took {time.monotonic() - started:.1f} s")


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
                request = cmd.RequestJob(goal=GOAL, plan_approval="gated")
                flow = asyncio.create_task(run_job(conn, run, request))
                await asyncio.wait(
                    {flow, supervised}, timeout=run.timeout, return_when=asyncio.FIRST_COMPLETED
                )
                stopped = supervised.done()
                outcome = flow.result() if flow.done() else await abandon(flow, conn, run, stopped)
        finally:
            supervisor.request_stop()
            await supervised
            console.print(f"stopped {len(commands)} services")
    summary(outcome, console)
    return 0 if outcome.job is not None and outcome.job.state == JobState.done else 1
