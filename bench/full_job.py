"""Time of one whole job apart from model time, by step: orchestration + sandbox + tests.

Runs a full-flow scenario (default: the small Python repository, tests/e2e/full_flow) --runs
times as real jobs: planner, coder, tester and deployer as their own processes over NATS and
PostgreSQL, sandboxd running the coder's tools and the tester's install and tests. The model's
answers come from the scenario's recordings, so model time is ~0 and what is left is ours. The
deploy is answered from a script (no cloud here) and the job stops at the deploy approval.

Each step's time is read from the job's own events (a reaction's events carry its decision time):
planning (JobRequested -> PlanReady), approval (auto), coding (PlanApproved -> the last
CodingFinished), testing (-> TestsPassed), review (-> ReviewCompleted), deploy ask
(-> DeployAwaitingApproval). Coding is split into time inside tool calls and the rest.
The first run fills the tenant's package cache; later runs show the warm figure.

    uv run python -m bench.full_job [--runs 3] [--scenario python_pass|js_pass|python_retry]
        [--phases]

Uses BDG_TEST_DATABASE_URL / BDG_TEST_NATS_URL (defaults: this machine's servers).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from uuid import UUID

from bdg_contracts import commands as cmd
from bdg_contracts import events as ev
from bdg_contracts import subjects
from bdg_contracts.base import Event
from bdg_contracts.states import JobState
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Job
from bdg_jobs.migrations import migrate
from bdg_jobs.sources import SourceRules
from bdg_jobs.store import JobStore
from bdg_jobs.user_commands import Caller, JobCommands
from bdg_runtime.bus import JetStreamPublisher, connect, ensure_streams
from bdg_runtime.redrive import Redriver
from bench.fresh_postgres import fresh_database
from tests.e2e.full_flow.scenarios import SCENARIOS
from tests.e2e.full_flow.services import model_env, start_services, write_deploy_answers
from tests.e2e.harness import Cluster
from tests.git_repos import make_repo
from tests.sandbox.daemon import start_daemon
from tests.waiting import eventually

ADMIN = os.environ.get("BDG_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
NATS = os.environ.get("BDG_TEST_NATS_URL", "nats://127.0.0.1:4222")
SETTLED = frozenset({JobState.awaiting_deploy_approval, JobState.failed})
STEPS = (
    "planning", "approval", "coding", "  in tools", "  the rest", "testing", "review",
    "deploy ask", "total",
)  # fmt: skip


def seconds(a: Event, b: Event) -> float:
    return (b.occurred_at - a.occurred_at).total_seconds()


def first(history: list[Event], kind: type[Event]) -> Event:
    return next(e for e in history if isinstance(e, kind))


def last(history: list[Event], kind: type[Event]) -> Event:
    return [e for e in history if isinstance(e, kind)][-1]


def steps(history: list[Event]) -> dict[str, float]:
    """Seconds per step of a job that reached the deploy approval."""
    requested, ready = history[0], first(history, ev.PlanReady)
    approved, coded = first(history, ev.PlanApproved), last(history, ev.CodingFinished)
    passed, reviewed = last(history, ev.TestsPassed), last(history, ev.ReviewCompleted)
    asked = last(history, ev.DeployAwaitingApproval)
    in_tools, previous = 0.0, approved
    for event in history[history.index(approved) :]:
        # A tool call's event is saved when it returns; the time since the coder's previous
        # save is the call (the recorded model answers in between take no time).
        if isinstance(event, ev.ToolCalled):
            in_tools += seconds(previous, event)
        if event.occurred_at != previous.occurred_at:
            previous = event
    coding = seconds(approved, coded)
    return {
        "planning": seconds(requested, ready),
        "approval": seconds(ready, approved),
        "coding": coding,
        "  in tools": in_tools,
        "  the rest": coding - in_tools,
        "testing": seconds(coded, passed),
        "review": seconds(passed, reviewed),
        "deploy ask": seconds(reviewed, asked),
        "total": seconds(requested, asked),
    }


def source_root() -> Path:
    """Outside the 0700 temp dirs: the sandbox user checks the repositories out."""
    sources = Path(tempfile.mkdtemp(prefix="bdg-bench-job-")).resolve()
    sources.chmod(0o755)
    return sources


async def services_ready(cluster: Cluster) -> None:
    """Each service has said it is ready (its consumers are subscribed), so the first job's
    planning does not include the services' start."""

    async def probe() -> bool:
        return all(f"{p.role} ready:" in p.output() for p in cluster.processes)

    await eventually(probe, 120, "the services to start")


def tester_phases(cluster: Cluster, job_id: UUID) -> list[str]:
    """The tester's own log lines timing each phase of this job's runs."""
    lines = [p.output() for p in cluster.processes if p.role == "tester"]
    return [
        "  tester " + line.split(": ", 1)[1].split(f"job {job_id} ", 1)[-1]
        for line in "".join(lines).splitlines()
        if str(job_id) in line and " done in " in line
    ]


async def run_jobs(
    name: str, runs: int, url: str, workdir: Path, phases: bool
) -> list[dict[str, float]]:
    scenario = SCENARIOS[name]
    sources = source_root()
    daemon = await start_daemon(SANDBOX_SOURCE_ROOTS=json.dumps([str(sources)]))
    namespace = "b" + secrets.token_hex(4)
    subjects.use_namespace(namespace)
    cluster = Cluster(url, NATS, namespace, workdir, {"BDG_LOG_LEVEL": "INFO"})
    store = JobStore.from_url(url)
    nc = await connect(NATS, "bench-full-job")
    js = nc.jetstream()
    await ensure_streams(js, 600)
    app = JobApplication(store, JetStreamPublisher(js))
    granted = SourceRules({"bench": (sources,)})  # the tenant of the jobs below
    daemon.grant(granted.grants)  # sandboxd judges the same grants
    commands = JobCommands(app, Redriver(store, js), sources=granted)
    answers = write_deploy_answers(sources / "deploy-answers.json")
    start_services(cluster, daemon.endpoint, answers, model_env(scenario, None))
    await services_ready(cluster)
    results: list[dict[str, float]] = []
    try:
        for run in range(runs):
            repo = sources / f"repo-{run}"
            make_repo(repo, scenario.files)
            request = cmd.RequestJob(
                goal=scenario.goal, repo=str(repo), base_ref="main", plan_approval="auto"
            )
            wall = time.perf_counter()
            job = await commands.create(Caller("bench", "bench"), request)
            history = await settled(app, job.job_id)
            state = Job.replay(history).state
            if state is not JobState.awaiting_deploy_approval:
                raise SystemExit(f"run {run + 1}: the job ended {state.value}:\n{cluster.output()}")
            results.append(steps(history))
            if phases:
                print("\n".join(tester_phases(cluster, job.job_id)))
            print(
                f"run {run + 1}: {results[-1]['total']:.2f} s by the job's events, "
                f"{time.perf_counter() - wall:.2f} s wall"
            )
    finally:
        cluster.stop()
        daemon.stop()
        daemon.remove()
        await js.delete_stream(subjects.events_stream())
        await js.delete_stream(subjects.dlq_stream())
        await nc.close()
        store.close()
        shutil.rmtree(sources, ignore_errors=True)
    return results


async def settled(app: JobApplication, job_id: UUID) -> list[Event]:
    async def probe() -> list[Event] | None:
        history = await app.history(job_id)
        return history if history and Job.replay(history).state in SETTLED else None

    return await eventually(probe, 600, f"job {job_id} to reach the deploy approval")


def table(results: list[dict[str, float]]) -> None:
    runs = len(results)
    header = f"{'step':<12}" + "".join(f"{'run ' + str(i + 1):>9}" for i in range(runs))
    print(header + (f"{'warm median':>13}" if runs > 1 else ""))
    for step in STEPS:
        row = f"{step:<12}" + "".join(f"{r[step]:9.2f}" for r in results)
        if runs > 1:
            row += f"{statistics.median(r[step] for r in results[1:]):13.2f}"
        print(row)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenario", default="python_pass", choices=sorted(SCENARIOS))
    parser.add_argument("--phases", action="store_true", help="the tester's phases per run")
    args = parser.parse_args()
    with fresh_database(ADMIN) as url:
        migrate(url)
        with tempfile.TemporaryDirectory() as tmp:
            results = await run_jobs(args.scenario, args.runs, url, Path(tmp), args.phases)
    print(f"\none job of scenario {args.scenario}, seconds by step (model answers recorded)")
    table(results)
    print(
        f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    asyncio.run(main())
