"""The `bdg` CLI against real PostgreSQL and NATS: typer's runner in a worker thread (each command
runs its own event loop), a subprocess for `--follow`, the stepper services for dead letters."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from nats.js import JetStreamContext
from typer.testing import CliRunner, Result

from bdg_cli.main import app
from bdg_contracts import events as ev
from bdg_contracts import subjects, wire
from bdg_contracts.states import JobState, Step
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Cause, Job
from bdg_jobs.projector import catch_up
from bdg_jobs.store import JobStore
from bdg_runtime.bus import JetStreamPublisher, connect, ensure_streams
from tests.conftest import Servers
from tests.e2e.harness import Cluster, eventually, wait_for_state

pytestmark = pytest.mark.timeout(60)
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Bdg:
    """Runs `bdg ...` against the test's database and namespace."""

    env: dict[str, str]
    store: JobStore
    app: JobApplication
    js: JetStreamContext

    async def __call__(self, *args: str, code: int = 0) -> Result:
        result = await asyncio.to_thread(CliRunner().invoke, app, list(args), env=self.env)
        assert "Traceback" not in result.output, result.output
        assert result.exit_code == code, f"bdg {' '.join(args)} -> {result.exit_code}\n" + (
            result.output
        )
        if result.exception is not None:
            assert isinstance(result.exception, SystemExit), repr(result.exception)
        return result

    async def create(self, goal: str, *extra: str) -> UUID:
        result = await self("job", "create", goal, *extra)
        return UUID(result.stdout.strip())

    async def drive(self, job_id: UUID, *steps: str) -> None:
        """Move a job on as services would (no services run in most tests)."""

        def decide(job: Job) -> None:
            cause = Cause(producer="test", occurred_at=datetime.now(UTC))
            for step in steps:
                STEPS[step](job, cause)

        await self.app.execute(job_id, decide)


STEPS: dict[str, Any] = {
    "plan": lambda j, c: j.make_plan_ready(c, "- [ ] one\n- [ ] two\n- [x] three"),
    "code": lambda j, c: (j.change_files(c, "+x", ("a.py",)), j.finish_coding(c)),
    "test": lambda j, c: j.pass_tests(c, ev.TestResults(total=3)),
    "review": lambda j, c: j.complete_review(c, approved=True, score=9, notes="ok"),
    "ask_deploy": lambda j, c: j.await_deploy_approval(c, "preview"),
    "approve": lambda j, c: j.approve_plan(c, "alice"),
    "fail": lambda j, c: j.fail_step(c, Step.coding, "coder", "gave up", j.version),
    "deploy": lambda j, c: (j.approve_deploy(c, "alice"), j.deploy(c, "https://x.example")),
}


@pytest.fixture
async def bdg(database_url: str, namespace: str, servers: Servers) -> AsyncIterator[Bdg]:
    env = {
        "DATABASE_URL": database_url,
        "NATS_URL": servers.nats_url,
        "BDG_NAMESPACE": namespace,
        "BDG_TENANT": "acme",
        "BDG_USER": "alice",
        "COLUMNS": "200",
    }
    store = JobStore.from_url(database_url)
    nc = await connect(servers.nats_url, "test-cli")
    js = nc.jetstream()
    await ensure_streams(js, 600)
    try:
        yield Bdg(env, store, JobApplication(store, JetStreamPublisher(js)), js)
    finally:
        await nc.close()
        store.close()


def versions(output: str) -> list[int]:
    return [int(v) for v in re.findall(r"^v(\d+) ", output, re.MULTILINE)]


async def test_create_show_list_and_events(bdg: Bdg) -> None:
    job_id = await bdg.create("build a todo app", "--repo", "https://git.example/todo")
    other = await bdg.create("someone else's", "--tenant", "globex", "--user", "bob")

    shown = (await bdg("job", "show", str(job_id))).stdout
    assert str(job_id) in shown
    assert re.search(r"state\s+planning", shown)
    assert re.search(r"tenant / user\s+acme / alice", shown)
    assert "https://git.example/todo" in shown

    listed = (await bdg("job", "list")).stdout
    assert str(job_id) in listed
    assert "build a todo app" in listed
    assert str(other) not in listed  # another tenant's
    assert str(other) in (await bdg("job", "list", "--tenant", "globex")).stdout

    events = (await bdg("job", "events", str(job_id))).stdout
    assert re.search(r"^v1\s+JobRequested\s+'build a todo app'.*\(user:alice\)$", events, re.M)


async def test_approve_pause_resume_cancel_and_show_at_a_version(bdg: Bdg) -> None:
    job_id = await bdg.create("steer me")
    await bdg.drive(job_id, "plan")  # v2 PlanReady

    paused = (await bdg("job", "pause", str(job_id), "--reason", "lunch")).stdout
    assert re.search(r"^v3\s+JobPaused\s+lunch", paused, re.M)
    assert "job is now paused" in paused
    assert "job is now awaiting_plan_approval" in (await bdg("job", "resume", str(job_id))).stdout

    approved = (await bdg("job", "approve", str(job_id))).stdout
    assert re.search(r"^v5\s+PlanApproved\s+by alice", approved, re.M)
    assert "job is now coding" in approved

    await bdg.drive(job_id, "code", "test", "review", "ask_deploy")
    deploy = (await bdg("job", "approve", str(job_id), "--deploy")).stdout
    assert re.search(r"^v\d+\s+DeployApproved\s+by alice", deploy, re.M)
    assert "job is now deploying" in deploy

    cancelled = (await bdg("job", "cancel", str(job_id), "--reason", "enough")).stdout
    assert "JobCancelled" in cancelled
    assert "job is now cancelled" in cancelled

    at_3 = (await bdg("job", "show", str(job_id), "--at", "3")).stdout
    assert re.search(r"state\s+paused", at_3)
    assert re.search(r"version\s+3\b", at_3)
    assert re.search(r"plan\s+1/3 checkboxes", at_3)
    now = (await bdg("job", "show", str(job_id))).stdout
    assert re.search(r"state\s+cancelled", now)


async def test_user_errors_are_messages_with_exit_codes(bdg: Bdg) -> None:
    job_id = await bdg.create("errors")
    unknown = uuid4()
    result = await bdg("job", "show", str(unknown), code=1)
    assert f"no job {unknown}" in result.stderr
    result = await bdg("job", "approve", str(job_id), "--tenant", "globex", code=1)
    assert f"no job {job_id}" in result.stderr  # another tenant's job does not exist for them
    result = await bdg("job", "approve", str(job_id), code=1)
    assert "PlanApproved is not allowed while the job is planning" in result.stderr
    result = await bdg("job", "retry", str(job_id), code=1)
    assert "cannot retry a job in state planning" in result.stderr
    result = await bdg("job", "show", "not-a-uuid", code=2)
    assert "valid UUID" in result.stderr
    result = await bdg("job", "create", "x", "--tenant", "a.b", code=2)
    assert "tenant id 'a.b' must match" in result.stderr
    await bdg("job", "create", "", code=2)
    result = await bdg("dlq", "retry", "999", code=1)
    assert "no dead letter #999" in result.stderr
    result = await bdg("replay", "--projection", "nope", code=2)
    assert "unknown projection 'nope'" in result.stderr
    # The log is untouched by the refused commands.
    assert [e.name for e in await bdg.app.history(job_id)] == ["JobRequested"]


async def test_unreachable_servers_are_messages(bdg: Bdg) -> None:
    bad = Bdg({**bdg.env, "NATS_URL": "nats://127.0.0.1:9"}, bdg.store, bdg.app, bdg.js)
    result = await bad("dlq", "list", code=1)
    assert "cannot reach NATS at nats://127.0.0.1:9" in result.stderr
    bad.env = {**bdg.env, "DATABASE_URL": "postgresql://postgres@127.0.0.1:9/x"}
    result = await bad("job", "list", code=1)
    assert "cannot reach PostgreSQL" in result.stderr


async def test_events_follow_prints_each_version_once_in_order(bdg: Bdg) -> None:
    job_id = await bdg.create("follow me")
    await bdg.drive(job_id, "plan")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bdg_cli.main",
        "job",
        "events",
        str(job_id),
        "--follow",
        env={**os.environ, **bdg.env, "PYTHONUNBUFFERED": "1"},
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    try:
        first = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert first.startswith(b"v1 "), first
        assert (await asyncio.wait_for(proc.stdout.readline(), 10)).startswith(b"v2 ")
        # Live now: a published event, the same event published again, an event committed
        # but never published (only the store has it), then more published ones.
        await bdg("job", "pause", str(job_id))  # v3
        v3 = (await bdg.app.history(job_id, 2))[0]
        await bdg.js.publish(subjects.subject_of(v3), wire.encode(v3))  # a duplicate
        silent = JobApplication(bdg.store)  # NoPublisher
        await silent.execute(job_id, lambda j: j.resume(Cause("test", datetime.now(UTC))))
        await bdg("job", "approve", str(job_id))  # v5, published
        await bdg("job", "cancel", str(job_id))  # v6: the follower ends here
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 1, out.decode()  # cancelled: documented as 1
    assert versions(out.decode()) == [3, 4, 5, 6], out.decode()
    assert "JobResumed" in out.decode()
    assert out.decode().rstrip().endswith("job is now cancelled")


async def follow(bdg: Bdg, job_id: UUID) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bdg_cli.main",
        "job",
        "events",
        str(job_id),
        "--follow",
        env={**os.environ, **bdg.env, "PYTHONUNBUFFERED": "1"},
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


@pytest.mark.parametrize(
    ("steps", "last", "state", "code"),
    [
        (("plan", "approve", "fail"), "StepFailed", "failed", 1),
        (
            ("plan", "approve", "code", "test", "review", "ask_deploy", "deploy"),
            "Deployed",
            "done",
            0,
        ),
    ],
)
async def test_events_follow_exits_when_the_job_ends(
    bdg: Bdg, steps: tuple[str, ...], last: str, state: str, code: int
) -> None:
    job_id = await bdg.create("follow me to the end")
    proc = await follow(bdg, job_id)
    assert proc.stdout is not None
    try:
        first = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert first.startswith(b"v1 "), first
        await bdg.drive(job_id, *steps)  # live: the follower hears the end over NATS
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    lines = out.decode().rstrip().splitlines()
    assert proc.returncode == code, out.decode()
    assert re.match(rf"v\d+\s+{last}\b", lines[-2]), lines
    assert lines[-1] == f"job is now {state}"
    # An ended job: the log, then the same exit at once.
    ended = await asyncio.to_thread(
        CliRunner().invoke, app, ["job", "events", str(job_id), "-f"], env=bdg.env
    )
    assert ended.exit_code == code, ended.output
    assert ended.stdout.rstrip().endswith(f"job is now {state}")


LONG_GOAL = "Add a dark mode toggle to the settings page and keep the choice in local storage"


async def test_job_list_is_one_line_per_job_at_80_columns_and_json(bdg: Bdg) -> None:
    job_id = await bdg.create(LONG_GOAL)
    narrow = Bdg({**bdg.env, "COLUMNS": "80"}, bdg.store, bdg.app, bdg.js)  # not a terminal
    listed = (await narrow("job", "list")).stdout.splitlines()
    assert listed[0].split() == ["JOB", "STATE", "COST", "UPDATED", "GOAL"]
    [line] = [x for x in listed if str(job_id) in x]
    assert re.fullmatch(rf"{job_id}\s+planning\s+\$0\.00\s+\d\d-\d\d \d\d:\d\d\s+{LONG_GOAL}", line)
    assert len(listed) == 2  # the header and the job: nothing wrapped
    [record] = json.loads((await bdg("job", "list", "--json")).stdout)
    assert set(record) == {
        "job_id", "state", "goal", "user", "cost_usd", "updated_at", "version"
    }  # fmt: skip
    assert (record["job_id"], record["goal"], record["user"]) == (str(job_id), LONG_GOAL, "alice")


async def test_events_as_json_lines(bdg: Bdg) -> None:
    job_id = await bdg.create("json me")
    await bdg.drive(job_id, "plan")
    lines = (await bdg("job", "events", str(job_id), "--json")).stdout.splitlines()
    events = [json.loads(line) for line in lines]
    assert [(e["version"], e["name"]) for e in events] == [(1, "JobRequested"), (2, "PlanReady")]
    assert events[0]["event"]["goal"] == "json me"


async def test_events_after_a_version(bdg: Bdg) -> None:
    job_id = await bdg.create("after")
    await bdg.drive(job_id, "plan")
    await bdg("job", "approve", str(job_id))
    assert versions((await bdg("job", "events", str(job_id), "--after", "1")).stdout) == [2, 3]


def rows(database_url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute('SELECT * FROM agent_config ORDER BY "jobId"').fetchall()


async def test_replay_rebuilds_agent_config_row_for_row(bdg: Bdg, database_url: str) -> None:
    jobs = [await bdg.create(f"job {n}") for n in range(5)]
    for job_id in jobs[:3]:
        await bdg.drive(job_id, "plan")
    await bdg("job", "approve", str(jobs[0]))
    await bdg.drive(jobs[0], "code", "test", "review", "ask_deploy")
    await bdg("job", "pause", str(jobs[1]))
    await bdg("job", "cancel", str(jobs[2]))
    with psycopg.connect(database_url, autocommit=True) as conn:
        catch_up(bdg.store, conn)
    live = rows(database_url)
    assert len(live) == 5

    result = await bdg("replay")
    total = bdg.store.max_notification_id()
    assert re.search(
        rf"rebuilt agent_config: {total} events in [\d.]+ s \([\d,]+ events/s\)", result.stdout
    ), result.stdout
    assert rows(database_url) == live


# -- dead letters, made by a real service ------------------------------------------------------
@pytest.fixture
def cluster(
    database_url: str, namespace: str, servers: Servers, tmp_path: Path
) -> Iterator[Cluster]:
    cluster = Cluster(database_url, servers.nats_url, namespace, tmp_path)
    yield cluster
    cluster.stop()
    print(cluster.output())  # shown by pytest when the test failed


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_dlq_list_and_retry_finish_the_job(bdg: Bdg, cluster: Cluster) -> None:
    cluster.start_all()
    job_id = await bdg.create("poison:tester", "--auto-approve")
    await wait_for_state(bdg.store, job_id, JobState.failed, timeout=60)

    async def listed() -> str | None:
        out = (await bdg("dlq", "list")).stdout
        return out if str(job_id) in out else None

    table = await eventually(listed, 15, "the dead letter in `bdg dlq list`")
    [letter] = json.loads((await bdg("dlq", "list", "--json")).stdout)
    assert set(letter) == {"seq", "service", "event", "job_id", "deliveries", "error"}
    assert (letter["service"], letter["job_id"]) == ("tester", str(job_id))
    row = next(line for line in table.splitlines() if str(job_id) in line)
    seq, service, event, job, deliveries, error = re.split(r"\s{2,}", row, maxsplit=5)
    assert (service, event, job, deliveries) == ("tester", "CodingFinished", str(job_id), "3")
    assert "poisoned tester" in error

    retried = (await bdg("dlq", "retry", seq, "--operator", "ops")).stdout
    assert f"retried dead letter #{seq}: job {job_id} is " in retried  # testing, or further
    await wait_for_state(bdg.store, job_id, JobState.awaiting_deploy_approval)
    await bdg("job", "approve", str(job_id), "--deploy")
    history = await wait_for_state(bdg.store, job_id, JobState.done)
    retried_by = next(e for e in history if isinstance(e, ev.StepRetried)).producer
    assert retried_by == "operator:ops"
    assert "no dead letters" in (await bdg("dlq", "list")).stdout
    assert json.loads((await bdg("dlq", "list", "--json")).stdout) == []


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for command in ("job", "dlq", "replay", "demo", "up", "index", "search", "sandbox"):
        assert re.search(rf"^  {command}\s", result.stdout, re.M), result.stdout
