"""Event hop latency and append+publish throughput, beside the raw limits of the same servers.

hop = event committed by service A (this process) -> service B (a separate process: the test
stepper's planner) has loaded the job, decided and committed its reaction, seen here through
PostgreSQL's NOTIFY. Raw limits measured in the same run: single-row commits, JetStream
publish-with-ack, and a bare publish -> pull -> commit hop with no framework.

    uv run python -m bench.hop_latency [--hops 300] [--appends 1000] [--only-appends]
Uses BDG_TEST_DATABASE_URL / BDG_TEST_NATS_URL (defaults: this machine's servers).

Appends are measured in --rounds rounds alternating with raw single-row commits (a shared
machine's disk moves within a run); each append figure is the median of its rounds, and its
share the median of each round's share of the commits measured beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from uuid import uuid4

import nats
import psycopg
from psycopg import sql

from bdg_contracts import events as ev
from bdg_contracts import subjects
from bdg_contracts.ids import new_event_id
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Cause, Job
from bdg_jobs.migrations import migrate
from bdg_jobs.store import EVENTS_TABLE, JobStore
from bdg_runtime.bus import JetStreamPublisher, connect, ensure_streams
from tests.e2e.harness import Cluster, eventually

ADMIN = os.environ.get("BDG_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
NATS = os.environ.get("BDG_TEST_NATS_URL", "nats://127.0.0.1:4222")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def report(name: str, values: list[float]) -> None:
    print(f"{name:<44} p50 {pct(values, 50):7.2f} ms   p99 {pct(values, 99):7.2f} ms")


def raw_commit_rate(url: str, n: int, table: str = "bench_rows") -> float:
    insert = sql.SQL("INSERT INTO {} (body) VALUES (%s)").format(sql.Identifier(table))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE TABLE {} (id bigserial primary key, body bytea)").format(
                sql.Identifier(table)
            )
        )
        start = time.perf_counter()
        for _ in range(n):
            with conn.transaction():
                conn.execute(insert, (b"x" * 300,))
        return n / (time.perf_counter() - start)


async def raw_publish_rate(n: int) -> float:
    nc = await nats.connect(NATS)
    js = nc.jetstream()
    stream = f"BENCH_{secrets.token_hex(4).upper()}"
    await js.add_stream(name=stream, subjects=[f"{stream.lower()}.>"])
    start = time.perf_counter()
    for i in range(n):
        await js.publish(f"{stream.lower()}.x", b"x" * 300, headers={"Nats-Msg-Id": str(i)})
    rate = n / (time.perf_counter() - start)
    await js.delete_stream(stream)
    await nc.close()
    return rate


async def bare_hop(url: str, n: int) -> list[float]:
    """publish -> pull consumer fetch -> commit a row -> ack; measured at the commit."""
    nc = await nats.connect(NATS)
    js = nc.jetstream()
    stream = f"BENCH_{secrets.token_hex(4).upper()}"
    subject = f"{stream.lower()}.hop"
    await js.add_stream(name=stream, subjects=[subject])
    sub = await js.pull_subscribe(subject, durable="hop")
    hops: list[float] = []
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("CREATE TABLE IF NOT EXISTS bench_rows (id bigserial, body bytea)")
        for _ in range(n):
            t0 = time.perf_counter()
            await js.publish(subject, b"x" * 300)
            [msg] = await sub.fetch(1, timeout=5)
            async with conn.transaction():
                await conn.execute("INSERT INTO bench_rows (body) VALUES (%s)", (msg.data,))
            hops.append(time.perf_counter() - t0)
            await msg.ack()
    await js.delete_stream(stream)
    await nc.close()
    return hops


async def event_hops(url: str, n: int, workdir: Path, namespace: str) -> list[float]:
    subjects.use_namespace(namespace)
    cluster = Cluster(url, NATS, namespace, workdir, {"BDG_LOG_LEVEL": "WARNING"})
    store = JobStore.from_url(url)
    nc = await connect(NATS, "bench")
    js = nc.jetstream()
    await ensure_streams(js, 600)
    publisher = JetStreamPublisher(js)
    planner = cluster.start("planner")
    hops: list[float] = []
    try:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as listen:
            await listen.execute(f"LISTEN {EVENTS_TABLE}")
            inserts = Inserts(listen)
            await warm_up(store, publisher, listen)
            for _ in range(n):
                job = Job.request(uuid4(), "bench", cause(), goal="hop")
                recorded = await asyncio.to_thread(store.save, job)
                t0, wall0 = time.perf_counter(), time.time()
                await publisher.publish(recorded)
                await inserts.committed(store, job.job_id)
                hops.append(time.perf_counter() - t0)
                if hops[-1] > 0.1:
                    decided = [e for e in store.history(job.job_id) if isinstance(e, ev.PlanReady)]
                    late = decided[0].occurred_at.timestamp() - wall0
                    print(f"slow hop {hops[-1] * 1000:.0f} ms: decided after {late * 1000:.0f} ms")
            inserts.task.cancel()
    finally:
        cluster.stop()
        print(planner.output()[-2000:] if planner.proc and planner.proc.returncode else "", end="")
        await js.delete_stream(subjects.events_stream())
        await js.delete_stream(subjects.dlq_stream())
        await nc.close()
        store.close()
    return hops


def cause() -> Cause:
    from datetime import UTC, datetime

    return Cause("bench", datetime.now(UTC), causation_id=new_event_id())


class Inserts:
    """Wakes on every NOTIFY the event store sends; a reader loops on the connection the whole
    time, so a notification that arrives between two looks is not missed."""

    def __init__(self, conn: psycopg.AsyncConnection[object]) -> None:
        self.conn = conn
        self.seen = asyncio.Event()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for _ in self.conn.notifies():
            self.seen.set()

    async def committed(self, store: JobStore, job_id: object) -> None:
        while True:
            self.seen.clear()
            history = await asyncio.to_thread(store.history, job_id)  # type: ignore[arg-type]
            if any(isinstance(e, ev.PlanReady) for e in history):
                return
            await asyncio.wait_for(self.seen.wait(), 10)


async def warm_up(store: JobStore, publisher: JetStreamPublisher, listen: object) -> None:
    job = Job.request(uuid4(), "bench", cause(), goal="warm")
    await publisher.publish(await asyncio.to_thread(store.save, job))

    async def ready() -> bool:
        history = await asyncio.to_thread(store.history, job.job_id)
        return any(isinstance(e, ev.PlanReady) for e in history)

    await eventually(ready, 60, "the planner to start")


@dataclass
class Rounds:
    """Rates per round: raw single-row commits, then appends by one writer, then by eight."""

    commits: list[float] = field(default_factory=list)
    alone: list[float] = field(default_factory=list)
    together: list[float] = field(default_factory=list)


async def append_rounds(url: str, n: int, rounds: int, namespace: str) -> Rounds:
    """Jobs appended and published per second by one writer and by 8 concurrent writers (as a
    service handling many jobs at once does), in rounds that alternate with raw single-row
    commits on the same server: a shared machine's disk and cores move within a run, so each
    append figure is compared with the commits measured beside it."""
    subjects.use_namespace(namespace)
    store = JobStore.from_url(url, pool_size=8)
    nc = await connect(NATS, "bench-append")
    js = nc.jetstream()
    await ensure_streams(js, 600)
    app = JobApplication(store, JetStreamPublisher(js))

    async def appended(writers: int) -> float:
        async def writer(count: int) -> None:
            for _ in range(count):
                await app.start(Job.request(uuid4(), "bench", cause(), goal="append"))

        start = time.perf_counter()
        await asyncio.gather(*(writer(n // rounds // writers) for _ in range(writers)))
        return n // rounds // writers * writers / (time.perf_counter() - start)

    found = Rounds()
    try:
        for i in range(rounds):
            found.commits.append(raw_commit_rate(url, n // rounds, f"bench_round_{i}"))
            found.alone.append(await appended(1))
            found.together.append(await appended(8))
    finally:
        await js.delete_stream(subjects.events_stream())
        await js.delete_stream(subjects.dlq_stream())
        await nc.close()
        store.close()
    return found


def share(rates: list[float], commits: list[float]) -> str:
    """The median rate and the median of its rounds' shares of the raw commits beside them."""
    ratios = [rate / raw for rate, raw in zip(rates, commits, strict=True)]
    low, high = min(ratios), max(ratios)
    return (
        f"{statistics.median(rates):9.0f} /s   = {100 * statistics.median(ratios):.0f}% of raw "
        f"commits (rounds {100 * low:.0f}-{100 * high:.0f}%)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hops", type=int, default=300)
    parser.add_argument("--appends", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5, help="of commits and appends")
    parser.add_argument("--only-appends", action="store_true", help="no hop measurements")
    args = parser.parse_args()
    name = f"bdg_bench_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    params = psycopg.conninfo.conninfo_to_dict(ADMIN)
    params["dbname"] = name
    url = psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in params.items()})
    migrate(url)
    bare: list[float] = []
    hops: list[float] = []
    try:
        publishes = await raw_publish_rate(args.appends)
        if not args.only_appends:
            bare = await bare_hop(url, args.hops)
            # Hops first: the planner's relay would otherwise publish the appended jobs too.
            with tempfile.TemporaryDirectory() as tmp:
                hops = await event_hops(url, args.hops, Path(tmp), "b" + secrets.token_hex(4))
        found = await append_rounds(url, args.appends, args.rounds, "b" + secrets.token_hex(4))
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
    print(f"raw limits (same run; single-row commits: median of {args.rounds} rounds)")
    print(
        f"{'  psycopg single-row commits':<44} {statistics.median(found.commits):9.0f} /s"
        f"   (rounds {min(found.commits):.0f}-{max(found.commits):.0f})"
    )
    print(f"{'  JetStream publish with ack':<44} {publishes:9.0f} /s")
    if bare:
        report("  bare publish -> pull -> commit hop", bare)
    print("BigDaddyG")
    print(f"{'  append + publish, one writer':<44} {share(found.alone, found.commits)}")
    print(
        f"{'  append + publish, 8 concurrent writers':<44} {share(found.together, found.commits)}"
    )
    if hops:
        report("  event hop A commit -> B reaction commit", hops)
        slow = sorted(h for h in hops if h > 0.1)
        print(
            f"  hops measured: {len(hops)}, mean {statistics.mean(hops) * 1000:.2f} ms, "
            f"{len(slow)} over 100 ms {[round(h * 1000) for h in slow][:10]}"
        )
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average: {load} on {os.cpu_count()} cores")


if __name__ == "__main__":
    asyncio.run(main())
