"""Handler cost with tracing on vs off, in the same run, beside the raw limit.

A "handler run" here is what the consumer wraps around every delivery (``observed``: span,
metrics) with a real step inside: a job created through ``JobCommands`` (its event appended in
PostgreSQL, published to JetStream; the request's traceparent in the event when on). On, spans
go over OTLP/HTTP to a receiver in a child process (tests/otlp_receiver.py) that decodes them;
the count it received is printed.

The figure is process CPU time per handler run (``time.process_time``: every thread of this
process, so the exporter thread's encoding and sending count against tracing; a round that is
on ends with a flush of its spans, inside the measure), not wall time: on a loaded machine a
run's wall time is mostly waiting for a core, PostgreSQL and NATS, which tracing does not
change. Rounds come in pairs (off, on), the order alternating pair by pair, so drift hits both
alike; the overhead is the median of the pairs' on/off ratios, with its quartiles and extremes.
Wall time is printed too. The raw limit, measured in the same run: one single-row commit on the
same server (a step's floor) and the CPU cost of one span alone.

    uv run python -m bench.tracing_overhead [--url postgresql://...] [--runs 50] [--rounds 30]

With no --url it starts the embedded PostgreSQL; NATS from BDG_TEST_NATS_URL (default local).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import cast

import psycopg

from bdg_contracts import commands as cmd
from bdg_contracts import subjects
from bdg_jobs.application import JobApplication
from bdg_jobs.migrations import migrate
from bdg_jobs.store import JobStore
from bdg_jobs.user_commands import Caller, JobCommands
from bdg_runtime.bus import JetStreamPublisher, connect, ensure_streams
from bdg_runtime.observed import observed
from bdg_telemetry import tracing
from bench.fresh_postgres import fresh_database

NATS = os.environ.get("BDG_TEST_NATS_URL", "nats://127.0.0.1:4222")
CALLER = Caller("bench", "bench")
Run = Callable[[], Awaitable[None]]


def per_run_ms(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered) * 1000, ordered[int(0.99 * (len(ordered) - 1))] * 1000


async def timed(run: Run, n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        await run()
        times.append(time.perf_counter() - start)
    return times


def commit_latency(url: str, n: int) -> list[float]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_rows (id bigserial primary key, body bytea)")
        times = []
        for _ in range(n):
            start = time.perf_counter()
            conn.execute("INSERT INTO bench_rows (body) VALUES (%s)", (b"x" * 300,))
            times.append(time.perf_counter() - start)
        return times


def span_cost(n: int) -> tuple[float, float]:
    """Wall and CPU seconds of one span (with its share of the export, flushed)."""
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        with tracing.span("bench", {"a": 1}):
            pass
    tracing.flush()
    return (time.perf_counter() - start) / n, (time.process_time() - cpu) / n


@dataclass
class Round:
    traced: bool
    cpu_per_run: float  # seconds of process CPU per handler run, the flush included
    wall: list[float]  # each run's wall time


async def one_round(run: Run, n: int, traced: bool) -> Round:
    """``n`` runs with tracing on (set up once for the whole bench, as a service does) or
    paused."""
    with contextlib.nullcontext() if traced else tracing.paused():
        cpu = time.process_time()
        wall = await timed(run, n)
        tracing.flush()  # the round's spans exported (a no-op when off)
        used = time.process_time() - cpu
    return Round(traced, used / n, wall)


async def measure(args: argparse.Namespace) -> dict[str, object]:
    subjects.use_namespace("bench" + secrets.token_hex(4))
    with fresh_database(args.url) as url:
        migrate(url)
        store = JobStore.from_url(url)
        nc = await connect(NATS, "bench-tracing")
        js = nc.jetstream()
        await ensure_streams(js, 600)
        commands = JobCommands(JobApplication(store, JetStreamPublisher(js)))
        first = await commands.create(CALLER, cmd.RequestJob(goal="warm up"))
        trigger = (await commands.app.history(first.job_id))[0]

        async def handler_run() -> None:
            with observed("bench", "bench-JobRequested", "bench", trigger, 1):
                await commands.create(CALLER, cmd.RequestJob(goal="traced or not"))

        tracing.setup("bench")
        await one_round(handler_run, 50, True)  # warm: connections, caches, the exporter's
        await one_round(handler_run, 50, False)
        loads = [os.getloadavg()[0]]
        pairs: list[tuple[Round, Round]] = []
        for i in range(args.rounds):
            order = (False, True) if i % 2 == 0 else (True, False)
            done = {t: await one_round(handler_run, args.runs, t) for t in order}
            pairs.append((done[False], done[True]))
            loads.append(os.getloadavg()[0])
        raw = await asyncio.to_thread(commit_latency, url, 500)
        one_span = span_cost(2000)  # within the queue's 2048: none dropped
        dropped = tracing.dropped_spans()
        tracing.shutdown()
        off_span = span_cost(2000)
        for name in (subjects.events_stream(), subjects.dlq_stream()):
            await js.delete_stream(name)
        await nc.close()
        store.close()
    return {
        "pairs": pairs,
        "raw": raw,
        "span": (one_span, off_span),
        "dropped": dropped,
        "loads": loads,
    }


def quartiles(values: list[float]) -> tuple[float, float, float]:
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=None)
    # Short rounds, many of them: drift (other load on the machine) hits off and on alike.
    parser.add_argument("--runs", type=int, default=50, help="handler runs per round")
    parser.add_argument("--rounds", type=int, default=30, help="pairs of rounds (off, on)")
    args = parser.parse_args()
    collector = subprocess.Popen(
        [sys.executable, "-m", "tests.otlp_receiver"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert collector.stdout is not None
    assert collector.stdin is not None
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.stdout.readline().strip()
    try:
        got = asyncio.run(measure(args))
    finally:
        collector.stdin.close()
    received = int(collector.stdout.readline() or 0)
    collector.wait(10)
    report(got, received)


def report(got: dict[str, object], received: int) -> None:
    pairs = cast(list[tuple[Round, Round]], got["pairs"])
    (on_span, on_span_cpu), (off_span, _) = cast(tuple[tuple[float, float], ...], got["span"])
    off_cpu = [off.cpu_per_run * 1e6 for off, _ in pairs]
    on_cpu = [on.cpu_per_run * 1e6 for _, on in pairs]
    ratios = [100 * (on.cpu_per_run / off.cpu_per_run - 1) for off, on in pairs]
    (o1, o2, o3), (n1, n2, n3), (r1, r2, r3) = map(quartiles, (off_cpu, on_cpu, ratios))
    runs = len(pairs[0][0].wall)
    print(f"{len(pairs)} pairs of rounds of {runs} handler runs, the order alternating")
    print(f"CPU per handler run, off       median {o2:6.0f} us  (quartiles {o1:.0f}-{o3:.0f})")
    print(f"CPU per handler run, on        median {n2:6.0f} us  (quartiles {n1:.0f}-{n3:.0f})")
    print(
        f"CPU overhead, median of pairs  {r2:+6.1f} %   (quartiles {r1:+.1f} to {r3:+.1f} %, "
        f"range {min(ratios):+.1f} to {max(ratios):+.1f} %)"
    )
    off_wall = [w for off, _ in pairs for w in off.wall]
    on_wall = [w for _, on in pairs for w in on.wall]
    (off50, off99), (on50, on99) = per_run_ms(off_wall), per_run_ms(on_wall)
    print(f"wall per handler run, off      p50 {off50:7.3f} ms   p99 {off99:7.3f} ms")
    print(f"wall per handler run, on       p50 {on50:7.3f} ms   p99 {on99:7.3f} ms")
    raw50, raw99 = per_run_ms(cast(list[float], got["raw"]))
    print(f"raw: one row commit (wall)     p50 {raw50:7.3f} ms   p99 {raw99:7.3f} ms")
    print(
        f"raw: one span                  on {on_span * 1e6:6.1f} us wall, "
        f"{on_span_cpu * 1e6:6.1f} us CPU (its export included); off {off_span * 1e6:6.3f} us"
    )
    print(f"spans received by the collector: {received}, dropped: {got['dropped']}")
    loads = cast(list[float], got["loads"])
    print(
        f"load average (1 min) over the rounds: {min(loads):.1f}-{max(loads):.1f} "
        f"(median {statistics.median(loads):.1f}) on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
