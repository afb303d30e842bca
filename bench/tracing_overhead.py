"""Handler latency with tracing on vs off, in the same run, beside the raw limit.

A "handler run" here is what the consumer wraps around every delivery (``observed``: span,
metrics) with a real step inside: a job created through ``JobCommands`` (its event appended in
PostgreSQL, published to JetStream; the request's traceparent in the event when on). Rounds
alternate off / on so drift hits both alike. On, spans go over OTLP/HTTP to a receiver in a
child process (tests/otlp_receiver.py) that decodes them; the count it received is printed.
The raw limit, measured in the same run: one single-row commit on the same server (a step's
floor) and the cost of one span alone.

    uv run python -m bench.tracing_overhead [--url postgresql://...] [--runs 400] [--rounds 6]

With no --url it starts the embedded PostgreSQL; NATS from BDG_TEST_NATS_URL (default local).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
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


def span_cost(n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        with tracing.span("bench", {"a": 1}):
            pass
    return (time.perf_counter() - start) / n


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

        await timed(handler_run, 50)  # warm: connections, caches
        off: list[float] = []
        on: list[float] = []
        dropped = 0
        ratios: list[float] = []
        for _ in range(args.rounds):
            off_round = await timed(handler_run, args.runs)
            tracing.setup("bench")
            on_round = await timed(handler_run, args.runs)
            dropped += tracing.dropped_spans()
            tracing.shutdown()  # exports what is queued; tracing off again
            ratios.append(statistics.median(on_round) / statistics.median(off_round))
            off += off_round
            on += on_round
        raw = await asyncio.to_thread(commit_latency, url, 500)
        tracing.setup("bench")
        one_span = span_cost(2000)  # within the queue's 2048: none dropped
        tracing.shutdown()
        off_span = span_cost(2000)
        for name in (subjects.events_stream(), subjects.dlq_stream()):
            await js.delete_stream(name)
        await nc.close()
        store.close()
    spans = (one_span, off_span)
    return {"off": off, "on": on, "raw": raw, "span": spans, "dropped": dropped, "ratios": ratios}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=None)
    # Short rounds, many of them: drift (other load on the machine) hits off and on alike.
    parser.add_argument("--runs", type=int, default=50, help="handler runs per round")
    parser.add_argument("--rounds", type=int, default=30, help="rounds of each (off, on)")
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
    off, on, raw = cast(list[float], got["off"]), cast(list[float], got["on"]), got["raw"]
    one_span, off_span = cast(tuple[float, float], got["span"])
    (off50, off99), (on50, on99) = per_run_ms(off), per_run_ms(on)
    raw50, raw99 = per_run_ms(cast(list[float], raw))
    mean = 100 * (statistics.mean(on) / statistics.mean(off) - 1)
    print(f"handler run, tracing off      p50 {off50:7.3f} ms   p99 {off99:7.3f} ms  ({len(off)})")
    print(f"handler run, tracing on       p50 {on50:7.3f} ms   p99 {on99:7.3f} ms  ({len(on)})")
    print(f"overhead (p50, on vs off)     {100 * (on50 - off50) / off50:+.1f} %")
    print(f"overhead (mean, on vs off)    {mean:+.1f} %")
    per_round = 100 * (statistics.median(cast(list[float], got["ratios"])) - 1)
    print(f"overhead (median of rounds)   {per_round:+.1f} %")
    print(f"raw: one row commit           p50 {raw50:7.3f} ms   p99 {raw99:7.3f} ms")
    print(
        f"raw: one span                 on {one_span * 1e6:6.1f} us   off {off_span * 1e6:6.3f} us"
    )
    print(f"spans received by the collector: {received}, dropped: {got['dropped']}")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
