"""The step services as real processes on real PostgreSQL and NATS, answering from recordings.

The reference job goes through planning (two drafts), coding and testing (a failing attempt,
then a passing one), review and deploy, with a user approving the plan and the deploy; then a
rollback. Each module run has its own database and bus namespace.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import nats
import psycopg
import pytest
import pytest_asyncio
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from psycopg import sql

from bdg_auditor.handlers import ENDINGS
from bdg_contracts import commands as cmd
from bdg_contracts import events as ev
from bdg_contracts import subjects
from bdg_contracts.base import Event
from bdg_contracts.states import JobState
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Job
from bdg_jobs.migrations import migrate
from bdg_jobs.store import JobStore
from bdg_jobs.user_commands import Caller, JobCommands
from bdg_runtime.bus import JetStreamPublisher, ensure_streams
from tests.waiting import eventually

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]

ADMIN_URL = os.environ.get("BDG_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
NATS_URL = os.environ.get("BDG_TEST_NATS_URL", "nats://127.0.0.1:4222")
ROOT = Path(__file__).parents[2]
ANSWERS_FILE = ROOT / "examples" / "reference-job.json"
GOAL = "Create a React PWA that stores notes in IndexedDB and works offline"
STEP_SERVICES = ("planner", "coder", "tester", "deployer")
WAIT_SECONDS = 60.0


# -- processes ----------------------------------------------------------------------------------
@dataclass
class Processes:
    """Service subprocesses with their output in files (a full pipe would block them)."""

    env: dict[str, str]
    log_dir: Path
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, IO[bytes]] = field(default_factory=dict)

    def start(self, name: str) -> None:
        log = self.logs[name] = (self.log_dir / f"{name}.log").open("wb")
        self.running[name] = subprocess.Popen(
            [sys.executable, "-m", f"bdg_{name}.main"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def output(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")

    def all_output(self) -> str:
        return "\n".join(f"----- {n} -----\n{self.output(n)}" for n in self.running)

    async def wait_ready(self, *names: str) -> None:
        for name in names:

            async def ready(name: str = name) -> bool:
                code = self.running[name].poll()
                assert code is None, f"{name} exited with {code} before it was ready"
                return f"{name} ready:" in self.output(name)

            await eventually(ready, WAIT_SECONDS, f"{name} to get ready")

    def stop(self, *names: str, grace: float = 15.0) -> dict[str, int]:
        """SIGTERM, then SIGKILL for whatever is still running after ``grace`` seconds."""
        chosen = names or tuple(self.running)
        for name in chosen:
            if self.running[name].poll() is None:
                self.running[name].send_signal(signal.SIGTERM)
        codes: dict[str, int] = {}
        for name in chosen:
            proc = self.running[name]
            try:
                codes[name] = proc.wait(grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[name] = proc.wait(5)
            self.logs[name].close()
        return codes


@contextlib.contextmanager
def output_shown_on_failure(procs: Processes) -> Iterator[None]:
    try:
        yield
    except BaseException:
        print(procs.all_output())  # pytest shows it under "Captured stdout call"
        raise


# -- fixtures -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stack:
    db_url: str
    namespace: str
    env: dict[str, str]


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    name = f"bdg_t_{uuid4().hex[:16]}"
    namespace = f"t{uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db_url = urlsplit(ADMIN_URL)._replace(path=f"/{name}").geturl()
    try:
        migrate(db_url)
        env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "NATS_URL": NATS_URL,
            "BDG_NAMESPACE": namespace,
            "BDG_ANSWERS_FILE": str(ANSWERS_FILE),
            "BDG_LOG_FORMAT": "text",
            "BDG_PLAN_SCORE_THRESHOLD": "8",
            "BDG_PLAN_MAX_ITERATIONS": "3",
            "PYTHONUNBUFFERED": "1",
        }
        yield Stack(db_url, namespace, env)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest_asyncio.fixture(scope="module")
async def bus(stack: Stack) -> AsyncIterator[JetStreamContext]:
    """This process's JetStream in the module's namespace; the streams go when it ends."""
    subjects.use_namespace(stack.namespace)
    nc = await nats.connect(NATS_URL)
    js = nc.jetstream()
    await ensure_streams(js, 600.0)
    try:
        yield js
    finally:
        for stream in (subjects.events_stream(), subjects.dlq_stream()):
            with contextlib.suppress(NotFoundError):
                await js.delete_stream(stream)
        await nc.close()
        subjects.use_namespace("")


@pytest.fixture(scope="module")
def services(stack: Stack, bus: JetStreamContext) -> Iterator[Processes]:
    # Started after the streams exist; stopped before they are deleted (a running service's
    # watchdog would declare them again).
    with tempfile.TemporaryDirectory(prefix="bdg-steps-") as log_dir:
        procs = Processes(stack.env, Path(log_dir))
        try:
            for name in STEP_SERVICES:
                procs.start(name)
            yield procs
        finally:
            procs.stop()


@pytest_asyncio.fixture(scope="module")
async def app(stack: Stack, bus: JetStreamContext) -> AsyncIterator[JobApplication]:
    store = JobStore.from_url(stack.db_url)
    try:
        yield JobApplication(store, JetStreamPublisher(bus))
    finally:
        store.close()


# -- helpers ------------------------------------------------------------------------------------
async def wait_for(
    app: JobApplication, job_id: UUID, what: str, until: Callable[[Job], bool]
) -> Job:
    async def probe() -> Job | None:
        job = await app.load(job_id)
        if until(job):
            return job
        if job.state == JobState.failed:
            history = [f"v{e.version} {e.name} by {e.producer}" for e in await app.history(job_id)]
            raise AssertionError(f"waiting for {what}, the job failed:\n" + "\n".join(history))
        return None

    return await eventually(probe, WAIT_SECONDS, what)


def reactions_of(history: list[Event]) -> list[tuple[str, str, list[str]]]:
    """(trigger, producer, events) per reaction: the events a producer caused by one event.
    A reaction is one ``react`` call, so its events must have consecutive versions."""
    by_cause: dict[tuple[str, str], list[Event]] = {}
    for e in history:
        if e.causation_id and not e.producer.startswith("user:"):
            by_cause.setdefault((e.causation_id, e.producer), []).append(e)
    names = {e.event_id: f"{e.name}@{e.version}" for e in history}
    out = []
    for (cause, producer), caused in by_cause.items():
        versions = [e.version for e in caused]
        assert versions == list(range(versions[0], versions[0] + len(versions))), (
            f"{producer} reacted to {names[cause]} more than once: versions {versions}"
        )
        out.append((names[cause], producer, [e.name for e in caused]))
    return out


def recorded_script() -> dict[str, Any]:
    script: dict[str, Any] = json.loads(ANSWERS_FILE.read_text())["goals"][GOAL]
    return script


# -- tests --------------------------------------------------------------------------------------
async def test_reference_job_runs_through_every_step(
    services: Processes, app: JobApplication, bus: JetStreamContext
) -> None:
    with output_shown_on_failure(services):
        await services.wait_ready(*STEP_SERVICES)
        commands = JobCommands(app)
        alice = Caller(tenant_id=f"tenant-{uuid4().hex[:8]}", user_id="alice")
        job = await commands.create(alice, cmd.RequestJob(goal=GOAL))
        job_id = job.job_id

        await wait_for(
            app, job_id, "the plan", lambda j: j.state == JobState.awaiting_plan_approval
        )
        await commands.approve_plan(alice, job_id)
        await wait_for(
            app,
            job_id,
            "the deploy request",
            lambda j: j.state == JobState.awaiting_deploy_approval,
        )
        await commands.approve_deploy(alice, job_id)
        done = await wait_for(app, job_id, "the deploy", lambda j: j.state == JobState.done)
        await commands.request_rollback(alice, job_id, cmd.RequestRollback(reason="smoke test"))
        await wait_for(
            app,
            job_id,
            "the rollback",
            lambda j: j.state == JobState.done and j.version > done.version,
        )

        history = await app.history(job_id)
        script = recorded_script()
        first, second = (len(a["patches"]) for a in script["coding"])
        assert [e.name for e in history] == [
            "JobRequested",
            *["PlanDrafted", "PlanCritiqued"] * 2,
            "PlanReady",
            "PlanApproved",
            *["FilesChanged"] * first,
            "CodingFinished",
            "TestsFailed",
            *["FilesChanged"] * second,
            "CodingFinished",
            "TestsPassed",
            "ReviewCompleted",
            "DeployAwaitingApproval",
            "DeployApproved",
            "Deployed",
            "RollbackRequested",
            "RolledBack",
        ]

        # Each service reacted exactly once to each of its triggers, in one batch.
        v = {e.name: e.version for e in reversed(history)}  # first version of each name
        coding_1, failed = v["CodingFinished"], v["TestsFailed"]
        coding_2 = max(e.version for e in history if isinstance(e, ev.CodingFinished))
        assert reactions_of(history) == [
            ("JobRequested@1", "planner", ["PlanDrafted", "PlanCritiqued"] * 2 + ["PlanReady"]),
            (
                f"PlanApproved@{v['PlanApproved']}",
                "coder",
                ["FilesChanged"] * first + ["CodingFinished"],
            ),
            (f"CodingFinished@{coding_1}", "tester", ["TestsFailed"]),
            (f"TestsFailed@{failed}", "coder", ["FilesChanged"] * second + ["CodingFinished"]),
            (f"CodingFinished@{coding_2}", "tester", ["TestsPassed"]),
            (f"TestsPassed@{v['TestsPassed']}", "planner", ["ReviewCompleted"]),
            (f"ReviewCompleted@{v['ReviewCompleted']}", "deployer", ["DeployAwaitingApproval"]),
            (f"DeployApproved@{v['DeployApproved']}", "deployer", ["Deployed"]),
            (f"RollbackRequested@{v['RollbackRequested']}", "deployer", ["RolledBack"]),
        ]

        # What was recorded is what the answers file says.
        critiques = [e for e in history if isinstance(e, ev.PlanCritiqued)]
        assert [(c.iteration, c.score) for c in critiques] == [(1, 6), (2, 9)]
        ready = next(e for e in history if isinstance(e, ev.PlanReady))
        assert ready.plan_markdown == script["plan"]["drafts"][1]
        changes = [e for e in history if isinstance(e, ev.FilesChanged)]
        assert [c.attempt for c in changes] == [1] * first + [2] * second
        recorded = [p for attempt in script["coding"] for p in attempt["patches"]]
        assert [(c.patch, list(c.paths)) for c in changes] == [
            (p["patch"], p["paths"]) for p in recorded
        ]
        tests = [e for e in history if isinstance(e, ev.TestsFailed | ev.TestsPassed)]
        assert [(type(t).__name__, t.attempt, t.results.failed) for t in tests] == [
            ("TestsFailed", 1, 4),
            ("TestsPassed", 2, 0),
        ]
        deployed = next(e for e in history if isinstance(e, ev.Deployed))
        assert deployed.url == script["deploy"]["url"]

        # Nothing was dead-lettered.
        assert (await bus.stream_info(subjects.dlq_stream())).state.messages == 0


async def test_indexer_and_auditor_start_and_stop_cleanly(
    stack: Stack, bus: JetStreamContext
) -> None:
    with tempfile.TemporaryDirectory(prefix="bdg-shells-") as log_dir:
        procs = Processes(stack.env, Path(log_dir))
        with output_shown_on_failure(procs):
            try:
                for name in ("indexer", "auditor"):
                    procs.start(name)
                await procs.wait_ready("indexer", "auditor")
            finally:
                codes = procs.stop()
            assert codes == {"indexer": 0, "auditor": 0}
            # The indexer reacts to RepoRegistered and RepoPushed; the auditor to each event that
            # can end a job (bdg_auditor.handlers.ENDINGS) and to BudgetExceeded (its email).
            for name, handlers in (("indexer", 2), ("auditor", len(ENDINGS) + 1)):
                out = procs.output(name)
                ready = re.search(rf"{name} ready: (\d+) handler\(s\), (\d+) objects frozen", out)
                assert ready, out
                # Start-up's objects are out of the collector's walks (bdg_runtime.heap).
                assert (int(ready[1]), int(ready[2]) > 10_000) == (handlers, True)
                assert "sandbox: " in out
                assert f"{name} stopped" in out
