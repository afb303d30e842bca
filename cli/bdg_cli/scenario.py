"""`bdg demo`: the product's scenario on the embedded stack. The agent-starter repository, the
goal "Create a React PWA that stores notes in IndexedDB and works offline", and every step real
but the model: the plan, the code and the review come from recorded calls
(``examples/pwa-scenario/recorded-calls.jsonl``, a scripted author's: see its ``author.py``),
or with ``--model-endpoint`` from OPENAI_BASE_URL (unset: the offline local model). sandboxd
installs, tests and builds the project and checks it in Chromium; the deployer builds the site
and the edge serves it; the person's one action is the deploy approval in the web app
(``--approve`` gives it). Then the production URL, the release's preview URL and its
Lighthouse scores.

The indexer is left out: the planner and coder then ask for code context and get none at once,
so their prompts (and the recorded answers' hashes) do not depend on how far indexing got.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from bdg_cli.context import USER_ERRORS, Connected, caller, connected
from bdg_cli.demo_repo import EXAMPLES, make_demo_repo
from bdg_cli.demo_run import Outcome, Run, abandon, interrupt, run_job, summary
from bdg_cli.init import LEFT_OUT, TEMPLATES
from bdg_cli.live_stack import LiveBounds, LiveStack, live_stack, running_services
from bdg_cli.own_sandbox import default_roots
from bdg_cli.scenario_artifacts import keep
from bdg_cli.up import default_commands
from bdg_cli.web_sign_in import sign_in_env
from bdg_contracts import commands as cmd
from bdg_contracts import events as ev
from bdg_contracts import release_events as rv
from bdg_contracts.states import JobState
from bdg_jobs.site_commands import SiteCommands, SiteNotFoundError
from bdg_runtime.lighthouse import (
    BAR,
    LighthouseError,
    Scores,
    ensure_installed,
    measure,
    reports_dir,
)
from bdg_runtime.settings import Settings

GOAL = "Create a React PWA that stores notes in IndexedDB and works offline"
STARTER = TEMPLATES / "agent-starter"
RECORDINGS = EXAMPLES / "pwa-scenario" / "recorded-calls.jsonl"
# Fixed, because they are part of the prompts the recordings were made with.
BOUNDS = LiveBounds(coder_max_steps=14, plan_iterations=1, step_timeout=600)
MAX_ATTEMPTS = 2
WITHOUT = frozenset({"indexer"})
BOUND_SECONDS = 600  # the scenario's promise: issue to production URL in under 10 minutes


class ScenarioError(ValueError):
    """The scenario cannot start as asked (printed, exit 1)."""


@dataclass(frozen=True)
class Scenario:
    approve: bool  # give the deploy approval here, else wait for the click
    timeout: float
    model_endpoint: bool  # OPENAI_BASE_URL instead of the recordings
    recordings: Path = RECORDINGS  # which recorded answers (the heavy page's: their own file)


def model_env(scenario: Scenario, environ: dict[str, str]) -> dict[str, str]:
    """What decides who answers the model calls: the recordings unless asked otherwise."""
    if scenario.model_endpoint:  # OPENAI_BASE_URL, else the offline local model (live_stack)
        if environ.get("BDG_LLM_RECORDINGS"):
            raise ScenarioError("--model-endpoint asks a model: unset BDG_LLM_RECORDINGS")
        return {}
    if not scenario.recordings.is_file():
        raise ScenarioError(f"no recorded model calls at {scenario.recordings}")
    return {"BDG_LLM_RECORDINGS": str(scenario.recordings.resolve())}


def run_scenario(home: Path | None, scenario: Scenario, console: Console) -> int:
    settings = Settings() if home is None else Settings(bdg_home=home)
    previous = signal.signal(signal.SIGTERM, interrupt)  # unwind and stop what was started
    started = time.monotonic()

    def say(line: str) -> None:
        console.print(f"[bold]demo[/] {line}", highlight=False)

    try:
        os.environ.update(model_env(scenario, dict(os.environ)))  # read by live_stack
        home_dir = settings.bdg_home.expanduser().resolve()
        # This process reads the event store too: the same master key as the services.
        os.environ["BDG_HOME"] = str(home_dir)
        repo = home_dir / "demo-repos" / STARTER.name
        commit = make_demo_repo(STARTER, repo, LEFT_OUT)
        say(f"repository {repo} (agent-starter at {commit[:12]})")
        # The deployer measures the preview before it offers the deploy: Lighthouse first.
        ensure_installed(say)
        with live_stack(settings, BOUNDS, default_roots(settings), say) as stack:
            stack.env.update(sign_in_env(stack.settings, say))
            stack.env.setdefault("BDG_PREVIEW_MIN_SCORE", str(BAR))
            # The tester's screenshots, where the gateway serves them from and the run keeps.
            stack.env.setdefault("BDG_TEST_ARTIFACTS_DIR", str(home_dir / "artifacts" / "tests"))
            gateway = f"http://127.0.0.1:{settings.gateway_port}"
            run = Run(not scenario.approve, scenario.timeout, console, None, web_app=gateway)
            request = cmd.RequestJob(
                goal=GOAL, repo=str(repo), base_ref=commit, plan_approval="auto",
                max_attempts=MAX_ATTEMPTS,
            )  # fmt: skip
            say(f"model answers: {stack.model}; ready in {time.monotonic() - started:.1f} s")
            return asyncio.run(_scenario(stack, request, run))
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        return 130
    except USER_ERRORS as error:
        console.print(f"[bold red]error:[/] {error}")
        return 1
    except (ScenarioError, LighthouseError) as error:
        console.print(f"[bold red]error:[/] {error}")
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
        console.print(f"demo took {time.monotonic() - started:.1f} s")


async def _scenario(stack: LiveStack, request: cmd.RequestJob, run: Run) -> int:
    console = run.console
    commands = {k: v for k, v in default_commands().items() if k not in WITHOUT}
    async with running_services(stack, commands) as supervised:
        console.print(f"[bold]services[/] {', '.join(commands)}; logs in {stack.log_path}")
        async with connected(stack.settings) as conn:
            flow = asyncio.create_task(run_job(conn, run, request))
            await asyncio.wait(
                {flow, supervised}, timeout=run.timeout, return_when=asyncio.FIRST_COMPLETED
            )
            stopped = supervised.done()
            outcome = flow.result() if flow.done() else await abandon(flow, conn, run, stopped)
            preview = await preview_url(conn, outcome, request.repo)
        summary(outcome, console)
        home = stack.settings.bdg_home.expanduser().resolve()
        gate = gate_scores(outcome, home)
        if gate is not None:
            console.print(f"preview at [bold]{gate.url}[/]; measured before the deploy approval")
            _print_scores(gate, console)
        if outcome.job is None or outcome.job.state != JobState.done:
            return 1
        # The deployer's, before the approval; else measured while the edge serves the preview.
        scores = gate or await asyncio.to_thread(_measured, preview, console)
        screenshots = Path(stack.env["BDG_TEST_ARTIFACTS_DIR"])
        kept = keep(outcome, home / "scenario" / str(outcome.job.job_id), screenshots, scores)
        console.print(f"[bold]kept[/] {', '.join(str(p) for p in kept)}")
        if run.gated:  # someone is at the web app: leave it, the preview and production up
            await _serve_until_stopped(supervised, console)
    return 0 if scores is not None and not scores.below_bar() else 1


async def _serve_until_stopped(supervised: asyncio.Task[bool], console: Console) -> None:
    """Until Ctrl-C (or SIGTERM), or the services gave up."""
    loop, stop = asyncio.get_running_loop(), asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    console.print("[bold]serving[/] the web app, the preview and the production URL until Ctrl-C")
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({stopping, supervised}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def preview_url(conn: Connected, outcome: Outcome, repo: str) -> str | None:
    """The preview URL of the release the job made, if it made one."""
    if outcome.job is None:
        return None
    tenant, job_id = caller().tenant_id, outcome.job.job_id
    try:
        site = await SiteCommands(conn.store).get(tenant, rv.job_site_id(tenant, repo, job_id))
    except SiteNotFoundError:
        return None
    ours = site.releases_of_job(job_id)
    return site.releases[ours[-1]].preview_url if ours else None


def gate_scores(outcome: Outcome, home: Path) -> Scores | None:
    """The scores the deployer measured the job's preview with before offering the deploy
    (``PreviewMeasured``), with the report it kept; None when it did not measure."""
    measured = [e for e in outcome.history if isinstance(e, ev.PreviewMeasured)]
    if not measured:
        return None
    last = measured[-1]
    kept = reports_dir(home) / f"{last.release}.json"
    report = json.loads(kept.read_text()) if kept.is_file() else {}
    return Scores(last.url, dict(last.scores), report)


def _print_scores(scores: Scores, console: Console) -> None:
    colour = "red" if scores.below_bar() else "green"
    console.print(f"[bold {colour}]Lighthouse[/] {scores.line()} (each must be >= {BAR})")


def _measured(preview: str | None, console: Console) -> Scores | None:
    """The preview's Lighthouse scores, printed; None when there is nothing to measure or
    Lighthouse could not."""
    if preview is None:
        console.print("[bold red]the job made no release: nothing to measure[/]")
        return None
    console.print(f"preview at [bold]{preview}[/]; Lighthouse (mobile) measuring it")
    try:
        ensure_installed(lambda line: console.print(line, highlight=False))
        scores = measure(preview)
    except LighthouseError as error:
        console.print(f"[bold red]Lighthouse:[/] {error}")
        return None
    _print_scores(scores, console)
    return scores
