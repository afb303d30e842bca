"""Latency of `POST /jobs` under concurrency, with every service running, beside the raw limits
of the same servers measured in the same run.

Starts the seven services as `bdg up` does (each its own process, recorded model answers, no
sandbox), waits for the gateway, warms it up, then sends --concurrency creates at once, --rounds
times, each on its own HTTP connection, and reports p50/p99/max of each request's time. The jobs
then run (planner, critic, ...) while the next round is sent: the load of the issue.

Raw limits, same servers, same concurrency, same run: a bare INSERT+COMMIT round trip from
--concurrency clients over a pool of 16 connections, a bare JetStream publish-with-ack from
--concurrency publishers on one connection, and the HTTP floor: the same client against uvicorn
with an app that only answers 201 (bench/bare_http.py). On a machine whose cores are shared, the
HTTP floor moves with the load: compare POST /jobs with it, measured minutes apart at most.

    uv run python -m bench.job_create [--concurrency 200] [--rounds 3] [--services gateway ...]
Uses BDG_TEST_DATABASE_URL / BDG_TEST_NATS_URL (defaults: this machine's servers).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import jwt
import nats
import psutil
from psycopg_pool import AsyncConnectionPool
from rich.console import Console

from bdg_cli.procs import Supervisor
from bdg_cli.up import SERVICES, default_commands
from bdg_jobs.migrations import migrate
from bench.fresh_postgres import fresh_database
from tests.ports import free_port
from tests.waiting import eventually

ADMIN = os.environ.get("BDG_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
NATS = os.environ.get("BDG_TEST_NATS_URL", "nats://127.0.0.1:4222")
ROOT = Path(__file__).resolve().parents[1]
GOAL = "Create a React PWA that stores notes in IndexedDB and works offline"  # recorded
STORE_CONNECTIONS = 16  # what a bare client may use: no more than the gateway's store


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def cpu_seconds(procs: list[psutil.Process]) -> float:
    """User + system CPU of these processes so far (the gone ones count 0)."""
    total = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def services_by_name() -> dict[str, psutil.Process]:
    """This bench's service processes (children of the supervisor, by their module)."""
    found: dict[str, psutil.Process] = {}
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            for part in child.cmdline():
                if part.startswith("bdg_") and part.endswith(".main"):
                    found[part.removesuffix(".main").split(".")[-1].removeprefix("bdg_")] = child
    return found


def report(name: str, values: list[float]) -> None:
    print(
        f"{name:<52} p50 {pct(values, 50):8.1f} ms   p99 {pct(values, 99):8.1f} ms   "
        f"max {max(values) * 1000:8.1f} ms"
    )


async def timed_together(n: int, one: Callable[[], Awaitable[None]]) -> list[float]:
    """Start ``n`` calls at once; each one's time from the common start to its own end."""
    start = asyncio.Event()
    times: list[float] = []

    async def call() -> None:
        await start.wait()
        t0 = time.perf_counter()
        await one()
        times.append(time.perf_counter() - t0)

    tasks = [asyncio.create_task(call()) for _ in range(n)]
    await asyncio.sleep(0)  # every task waits on the start line
    start.set()
    await asyncio.gather(*tasks)
    return times


async def raw_commits(url: str, n: int) -> list[float]:
    async with AsyncConnectionPool(
        url, min_size=STORE_CONNECTIONS, max_size=STORE_CONNECTIONS, kwargs={"autocommit": True}
    ) as pool:
        async with pool.connection() as conn:
            await conn.execute("CREATE TABLE IF NOT EXISTS bench_rows (id bigserial, body bytea)")

        async def commit() -> None:
            async with pool.connection() as conn, conn.transaction():
                await conn.execute("INSERT INTO bench_rows (body) VALUES (%s)", (b"x" * 600,))

        await timed_together(n, commit)  # warm
        return await timed_together(n, commit)


async def raw_publishes(n: int) -> list[float]:
    nc = await nats.connect(NATS)
    js = nc.jetstream()
    stream = f"BENCH_{secrets.token_hex(4).upper()}"
    await js.add_stream(name=stream, subjects=[f"{stream.lower()}.>"])
    count = 0

    async def publish() -> None:
        nonlocal count
        count += 1
        await js.publish(f"{stream.lower()}.x", b"x" * 600, headers={"Nats-Msg-Id": str(count)})

    try:
        await timed_together(n, publish)  # warm
        return await timed_together(n, publish)
    finally:
        await js.delete_stream(stream)
        await nc.close()


@contextlib.asynccontextmanager
async def services(
    url: str, workdir: Path, port: int, secret: str, names: list[str]
) -> AsyncIterator[None]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "NATS_URL": NATS,
        "BDG_NAMESPACE": "bench" + secrets.token_hex(4),
        "BDG_ANSWERS_FILE": str(ROOT / "examples" / "reference-job.json"),
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",  # never called: answers are recorded
        "JWT_SECRET": secret,
        "GATEWAY_PORT": str(port),
        "BDG_LOG_FORMAT": "text",
        "AGENT_SANDBOX_ENDPOINT": f"unix://{workdir}/no-sandbox.sock",
        "BDG_HOME": str(workdir),
    }
    log = (workdir / "services.log").open("w")
    commands = {name: argv for name, argv in default_commands().items() if name in names}
    supervisor = Supervisor(commands, env, Console(file=log, width=200))
    running = asyncio.create_task(supervisor.run())
    try:
        yield
    finally:
        supervisor.request_stop()
        await running
        log.close()


async def creates(http: httpx.AsyncClient, n: int) -> list[float]:
    async def create() -> None:
        answer = await http.post("/jobs", json={"goal": GOAL, "plan_approval": "auto"})
        assert answer.status_code == 201, answer.text

    return await timed_together(n, create)


async def answering(http: httpx.AsyncClient, path: str) -> None:
    async def up() -> bool:
        with contextlib.suppress(httpx.TransportError):
            return (await http.get(path)).status_code < 500
        return False

    await eventually(up, 120, f"{http.base_url} to answer")


async def bare_http(limits: httpx.Limits, n: int, rounds: int) -> tuple[list[float], float]:
    """``rounds`` of ``n`` concurrent POSTs to a server that only answers (the HTTP floor);
    their times, and the server's CPU seconds per request."""
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.bare_http", str(port), cwd=ROOT
    )
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60
        ) as http:
            await answering(http, "/")

            async def post() -> None:
                answer = await http.post("/jobs", json={"goal": GOAL, "plan_approval": "auto"})
                assert answer.status_code == 201

            await timed_together(20, post)
            proc = psutil.Process(server.pid)
            before = cpu_seconds([proc])
            times = [t for _ in range(rounds) for t in await timed_together(n, post)]
            return times, (cpu_seconds([proc]) - before) / (n * rounds)
    finally:
        server.terminate()
        await server.wait()


async def run(args: argparse.Namespace) -> None:
    with fresh_database(ADMIN) as url, tempfile.TemporaryDirectory() as tmp:
        migrate(url)
        port, secret = free_port(), secrets.token_urlsafe(32)
        claims = {"sub": "bench", "tenant": "bench", "aud": "bigdaddyg", "exp": time.time() + 3600}
        headers = {"Authorization": f"Bearer {jwt.encode(claims, secret, algorithm='HS256')}"}
        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=0)
        # The raw limits first, on idle servers: what the hardware gives, nothing else running.
        commits = await raw_commits(url, args.concurrency)
        publishes = await raw_publishes(args.concurrency)
        floor, floor_cpu = await bare_http(limits, args.concurrency, args.rounds)
        async with (
            services(url, Path(tmp), port, secret, args.services),
            httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", headers=headers, limits=limits, timeout=60
            ) as http,
        ):
            await answering(http, "/healthz")
            await creates(http, 20)  # warm: the first requests open connections, load code
            procs = services_by_name()
            gateway = [procs["gateway"]]
            workers = [p for name, p in procs.items() if name != "gateway"]
            cpu_before = cpu_seconds(gateway), cpu_seconds(workers)
            rounds = [await creates(http, args.concurrency) for _ in range(args.rounds)]
            requests = args.concurrency * args.rounds
            gateway_cpu = (cpu_seconds(gateway) - cpu_before[0]) / requests
            workers_cpu = (cpu_seconds(workers) - cpu_before[1]) / requests
        running = "all services" if set(args.services) == set(SERVICES) else args.services
        print(f"\n{args.concurrency} concurrent requests, {running} running (recorded answers)")
        for i, times in enumerate(rounds, 1):
            report(f"POST /jobs, round {i}", times)
        report("POST /jobs, all rounds", [t for times in rounds for t in times])
        print(f"{'gateway CPU per request':<52} {gateway_cpu * 1000:8.2f} ms")
        print(f"{'other services CPU per request, meanwhile':<52} {workers_cpu * 1000:8.2f} ms")
        print("raw limits of the same servers, same run, same concurrency (idle servers):")
        report(f"  INSERT+COMMIT, {STORE_CONNECTIONS} connections", commits)
        report("  JetStream publish-with-ack, one connection", publishes)
        report("  HTTP floor: uvicorn answering 201, same client, all rounds", floor)
        print(f"{'  HTTP floor: server CPU per request':<52} {floor_cpu * 1000:8.2f} ms")
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"load average: {load} on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--services", nargs="+", default=list(SERVICES), choices=SERVICES, help="(default: all)"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
