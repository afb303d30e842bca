"""Replay benchmark: rebuild ``agent_config`` from 100k events in a fresh database.

    uv run python bench/replay_bench.py [--jobs 10000] [--batch 1000] [--url postgresql://...]

Prints events/s for the rebuild; the target is >= 20k events/s. No assertion on time.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bdg_jobs.domain import Cause, Job
from bdg_jobs.migrations import migrate
from bdg_jobs.projector import rebuild
from bdg_jobs.store import JobStore

ADMIN_URL = os.environ.get("BDG_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    name = f"bdg_bench_{uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(admin_url, dbname=name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def job_events(n: int) -> list[Event]:
    """Ten events of one job, decided by the aggregate itself."""
    tick = iter(range(1, 100))

    def cause() -> Cause:
        return Cause("bench", T0 + timedelta(minutes=n, seconds=next(tick)), user_id="bench")

    def llm() -> None:
        job.record_llm_call(
            cause(),
            role="planner",
            model="m",
            request_hash=f"{n}",
            response="ok",
            prompt_tokens=100,
            completion_tokens=50,
            cost_usd=0.01,
        )

    job = Job.request(uuid4(), f"tenant{n % 10}", cause(), goal=f"goal {n}")
    job.draft_plan(cause(), f"# draft {n}", iteration=1)
    llm()
    job.make_plan_ready(cause(), f"# plan {n}")
    job.approve_plan(cause(), approved_by="bench")
    llm()
    job.change_files(cause(), patch="--- a\n+++ b\n", paths=("app.py",))
    job.finish_coding(cause())
    job.pass_tests(cause(), ev.TestResults(total=10))
    job.complete_review(cause(), approved=True, score=9, notes="")
    return job.collect()


def write(store: JobStore, jobs: int, chunk: int = 10_000) -> int:
    pending: list[Event] = []
    written = 0
    for n in range(jobs):
        pending.extend(job_events(n))
        if len(pending) >= chunk:
            written += len(store.append(pending))
            pending = []
    written += len(store.append(pending))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default=ADMIN_URL, help="server to create the database on")
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()

    with fresh_database(args.url) as url:
        migrate(url)
        store = JobStore.from_url(url)
        try:
            started = time.perf_counter()
            events = write(store, args.jobs)
            print(f"wrote {events} events in {time.perf_counter() - started:.1f}s")
            with psycopg.connect(url, autocommit=True) as conn:
                started, cpu = time.perf_counter(), time.process_time()
                applied = rebuild(store, conn, batch=args.batch)
                elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
                rows = conn.execute("SELECT count(*) FROM agent_config").fetchone()
        finally:
            store.close()
    print(
        f"rebuilt agent_config ({rows[0] if rows else 0} rows) from {applied} events "
        f"in {elapsed:.2f}s: {applied / elapsed:,.0f} events/s (batch {args.batch})"
    )
    # On a busy machine wall time swings; CPU time of this process (not the server's) does not.
    print(f"client CPU {cpu:.2f}s: {applied / cpu:,.0f} events per CPU-second")


if __name__ == "__main__":
    main()
