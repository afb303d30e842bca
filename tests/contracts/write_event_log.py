"""Write a stored event log and the state it replays to: run once, by the code of the day.

    uv run python -m tests.contracts.write_event_log [postgresql://...]

Scripted jobs (every decision of the job aggregate, a pause, a budget stop, a failed and
retried step, a canary and a rollback) and one repository index go through the real store
(``JobApplication`` on PostgreSQL, a fresh database dropped afterwards). The stored rows of the
events table are dumped as they are (topic, state bytes) to ``samples/log-<date>.jsonl``, and
each aggregate's replayed state to ``samples/log-<date>.state.json``. ``test_stored_log.py``
loads that log with the code of later days and checks the state is the same: the proof that
a log written before a change still reads after it.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from bdg_contracts import events as ev
from bdg_contracts import index_events as ix
from bdg_contracts import tool_events as tev
from bdg_contracts.states import Step
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Cause, Job
from bdg_jobs.migrations import migrate
from bdg_jobs.repos import RepoIndex
from bdg_jobs.store import EVENTS_TABLE, JobStore
from tests.contracts.snapshot import snapshot

SAMPLES = Path(__file__).parent / "samples"
T0 = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
SHA_A, SHA_B = "a" * 40, "b" * 40


class Clock:
    """Causes one second apart, each with a causation id of its own (so reactions record)."""

    def __init__(self) -> None:
        self.ticks: Iterator[int] = iter(range(1, 10_000))

    def cause(self, producer: str, user: str | None = None) -> Cause:
        n = next(self.ticks)
        return Cause(
            producer=producer,
            occurred_at=T0 + timedelta(seconds=n),
            causation_id=f"01JCAUSE{n:018d}",
            user_id=user,
            traceparent=f"00-{n:032x}-{n:016x}-01",
        )


def llm(job: Job, cause: Cause, role: str, n: int) -> None:
    job.record_llm_call(
        cause,
        role=role,
        model="offline-qwen",
        request_hash=f"{n:064x}",
        response=f"answer {n}",
        prompt_tokens=100 * n,
        completion_tokens=10 * n,
        cost_usd=0.002 * n,
    )


def ran(call: str, tool: str, result: str) -> dict[str, Any]:
    fields = tool_fields(call, tool)
    del fields["call_id"]  # an execution is known by its idempotency key
    return {**fields, "result": result}


def tool_fields(call: str, tool: str) -> dict[str, Any]:
    return {
        "call_id": call,
        "tool": tool,
        "arguments_json": '{"path":"app.py"}',
        "idempotency_key": f"key-{call}",
    }


async def full_job(app: JobApplication, clock: Clock) -> UUID:
    """A gated job through every step: tools, a failed test, a rework, a canary, a rollback."""
    job_id = UUID("0193a000-0000-7000-8000-000000000001")
    job = Job.request(
        job_id,
        "acme",
        clock.cause("user:alice", "alice"),
        goal="Add a /health route",
        repo="https://git.example/acme/shop",
        base_ref="main",
        plan_approval="gated",
        max_attempts=3,
        models={"coder": "offline-coder", "planner": "offline-planner"},
    )
    await app.start(job)

    def steps(*decisions: Any) -> Any:
        async def run() -> None:
            for decide in decisions:
                await app.execute(job_id, decide)

        return run()

    hit = tev.CodeHit(path="app.py", start_line=1, end_line=9, snippet="def app(): ...", score=0.9)
    await steps(
        lambda j: j.record_code_context(
            clock.cause("planner"), query="health route", repo=j.repo, hits=(hit,), note=""
        ),
        lambda j: llm(j, clock.cause("planner"), "planner", 1),
        lambda j: j.draft_plan(clock.cause("planner"), "- [ ] add route", 1),
        lambda j: j.critique_plan(
            clock.cause("planner"), 1, 6, risks=("no test",), changes=("add a test",)
        ),
        lambda j: j.draft_plan(clock.cause("planner"), "- [ ] add route\n- [ ] test it", 2),
        lambda j: j.critique_plan(clock.cause("planner"), 2, 8),
        lambda j: j.make_plan_ready(clock.cause("planner"), "- [ ] add route\n- [ ] test it"),
        lambda j: j.edit_plan(clock.cause("user:alice", "alice"), "- [ ] add /health\n- [ ] test"),
        lambda j: j.approve_plan(clock.cause("user:alice", "alice"), "alice"),
        lambda j: llm(j, clock.cause("coder"), "coder", 2),
        lambda j: j.call_tool(clock.cause("coder"), **ran("c1", "read_file", "def app(): ...")),
        lambda j: j.request_tool_approval(
            clock.cause("coder"), **tool_fields("c2", "run_shell"), reason="gated tool"
        ),
        lambda j: j.approve_tool_call(clock.cause("user:alice", "alice"), "c2", "alice"),
        lambda j: j.call_tool(clock.cause("coder"), **ran("c2", "run_shell", "ok")),
        lambda j: j.request_tool_approval(
            clock.cause("coder"), **tool_fields("c3", "git_push"), reason="gated tool"
        ),
        lambda j: j.deny_tool_call(clock.cause("user:bob", "bob"), "c3", "bob", "not now"),
        lambda j: j.refuse_tool_call(
            clock.cause("coder"), **tool_fields("c4", "rm_rf"), reason="forbidden"
        ),
        lambda j: j.reject_tool_call(
            clock.cause("coder"), **tool_fields("c5", "nope"), message="unknown tool nope"
        ),
        lambda j: j.change_files(clock.cause("coder"), "--- a/app.py\n+++ b/app.py\n", ("app.py",)),
        lambda j: j.finish_coding(clock.cause("coder"), "added the route", SHA_A),
        lambda j: j.fail_tests(
            clock.cause("tester"),
            ev.TestResults(total=4, failed=1, coverage=71.5, output_tail="1 failed"),
            "test_health expects 200",
        ),
        lambda j: j.change_files(clock.cause("coder"), "--- a/app.py\n+++ b/app.py\n", ("app.py",)),
        lambda j: j.finish_coding(clock.cause("coder"), "fixed the status", SHA_A),
        lambda j: j.pass_tests(clock.cause("tester"), ev.TestResults(total=4, failed=0)),
        lambda j: j.complete_review(clock.cause("reviewer"), False, 5, "name the route"),
        lambda j: j.finish_coding(clock.cause("coder"), "renamed", SHA_A),
        lambda j: j.pass_tests(clock.cause("tester"), ev.TestResults(total=4, coverage=80.0)),
        lambda j: j.complete_review(clock.cause("reviewer"), True, 9, "good"),
        lambda j: j.await_deploy_approval(clock.cause("deployer"), "preview", "https://pr.example"),
        lambda j: j.approve_deploy(clock.cause("user:alice", "alice"), "alice"),
        lambda j: j.deploy(clock.cause("deployer"), "https://canary.example", canary=True),
        lambda j: j.promote_canary(clock.cause("deployer")),
        lambda j: j.request_rollback(clock.cause("user:alice", "alice"), "500s on /health"),
        lambda j: j.roll_back(clock.cause("deployer"), "https://v1.example"),
    )
    return job_id


async def interrupted_job(app: JobApplication, clock: Clock) -> UUID:
    """An auto-approved job that is paused, stopped by its budget, fails, is retried, cancelled."""
    job_id = UUID("0193a000-0000-7000-8000-000000000002")
    await app.start(
        Job.request(
            job_id,
            "acme",
            clock.cause("user:bob", "bob"),
            goal="Fix the typo",
            plan_approval="auto",
        )
    )
    for decide in (
        lambda j: j.pause(clock.cause("user:bob", "bob"), "lunch"),
        lambda j: j.resume(clock.cause("user:bob", "bob")),
        lambda j: llm(j, clock.cause("planner"), "planner", 3),
        lambda j: j.exceed_budget(clock.cause("planner"), 0.005, 0.006, "job:acme:j", ""),
        lambda j: j.raise_budget(clock.cause("user:bob", "bob"), 1.0),
        lambda j: j.make_plan_ready(clock.cause("planner"), "- [ ] fix"),
        lambda j: j.fail_step(clock.cause("coder"), Step.coding, "coder", "sandbox down", 7, 5),
        lambda j: j.retry_step(clock.cause("user:bob", "bob")),
        lambda j: j.cancel(clock.cause("user:bob", "bob"), "done by hand"),
    ):
        await app.execute(job_id, decide)
    return job_id


def repo_index(store: JobStore, clock: Clock) -> UUID:
    index = RepoIndex.register(
        "acme",
        clock.cause("user:alice", "alice"),
        "https://Git.Example/acme/shop.git",
        ref="main",
        filter=ix.IndexFilterSpec(include=("*.py",), exclude=("tests/*",)),
    )
    index.push(
        clock.cause("gateway"),
        provider="github",
        delivery_id="d-1",
        ref="refs/heads/main",
        before=None,
        after=SHA_A,
        pusher="alice",
    )
    index.record_failure(clock.cause("indexer"), "clone failed", SHA_A)
    index.record_indexed(
        clock.cause("indexer"),
        commit=SHA_A,
        space="offline-embed:384",
        files=3,
        chunks=12,
        embedded=12,
        reused=0,
        removed_files=0,
        skipped_files=1,
        tokens=900,
        cost_usd=0.0,
        seconds=1.5,
    )
    index.push(
        clock.cause("gateway"),
        provider="github",
        delivery_id="d-2",
        ref="refs/heads/main",
        before=SHA_A,
        after=SHA_B,
    )
    store.append(index.collect())
    return index.repo_id


async def write(url: str, day: str) -> None:
    migrate(url)
    store = JobStore.from_url(url)
    try:
        app, clock = JobApplication(store), Clock()
        jobs = [await full_job(app, clock), await interrupted_job(app, clock)]
        repo = repo_index(store, clock)
        states = {str(j): snapshot(store.load(j)) for j in jobs}
        states[str(repo)] = snapshot(store.load_repo(repo))
    finally:
        store.close()
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            sql.SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state "
                "FROM {} ORDER BY notification_id"
            ).format(sql.Identifier(EVENTS_TABLE))
        ).fetchall()
    lines = [
        json.dumps(
            {
                "notification_id": n,
                "originator_id": str(oid),
                "originator_version": version,
                "topic": topic,
                "state": bytes(state).decode(),
            }
        )
        for n, oid, version, topic, state in rows
    ]
    (SAMPLES / f"log-{day}.jsonl").write_text("\n".join(lines) + "\n")
    (SAMPLES / f"log-{day}.state.json").write_text(json.dumps(states, indent=1) + "\n")
    print(f"{len(lines)} events of {len(states)} aggregates -> samples/log-{day}.jsonl")


def main() -> None:
    admin = sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/postgres"
    name = f"bdg_log_{secrets.token_hex(4)}"
    day = datetime.now(UTC).date().isoformat()
    if (SAMPLES / f"log-{day}.jsonl").exists():  # a stored log is what older code wrote: keep it
        raise SystemExit(f"samples/log-{day}.jsonl exists; a log is written once")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    params = psycopg.conninfo.conninfo_to_dict(admin)
    params["dbname"] = name
    url = psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in params.items()})
    try:
        asyncio.run(write(url, day))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


if __name__ == "__main__":
    main()
