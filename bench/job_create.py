"""Latency of `POST /jobs` under concurrency, with every service running, beside the raw limits
of the same servers measured in the same run.

Starts the seven services as `bdg up` does (each its own process, recorded model answers, no
sandbox), waits for the gateway, warms it up, then sends --concurrency creates at once, --rounds
times, each on its own HTTP connection, and reports p50/p99/max of each request's time. The jobs
then run (planner, critic, ...) while the next round is sent: the load of the issue.

The requests come from bench/http_burst.py, a light client in its own process (pre-built request
bytes over asyncio streams): httpx in this process cost CPU on the same cores, and this process
also pumps every service's log as `bdg up` does.

Raw limits, same servers, same concurrency, same run: a bare INSERT+COMMIT round trip from
--concurrency clients over a pool of 16 connections, a bare JetStream publish-with-ack from
--concurrency publishers on one connection, and the HTTP floor: the same client against uvicorn
with an app that only answers 201 (bench/bare_http.py). On a machine whose cores are shared, the
HTTP floor moves with the load: compare POST /jobs with it, measured minutes apart at most.
Where the CPU went during the creates is printed per request: the gateway, the other services,
this database's PostgreSQL backends, the client and this process (the supervisor's log pump).

    uv run python -m bench.job_create [--concurrency 200] [--rounds 3] [--services gateway ...]
Uses BDG_TEST_DATABASE_URL / BDG_TEST_NATS_URL (defaults: this machine's servers).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import jwt
import nats
import psutil
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool
from rich.console import Console

from bdg_cli.gateway_listener import gateway_listener, gateway_workers
from bdg_cli.procs import Supervisor
from bdg_cli.up import SERVICES, default_commands
from bdg_jobs.migrations import migrate
from bdg_runtime.settings import Settings
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


def services_by_name() -> dict[str, list[psutil.Process]]:
    """This bench's service processes (children of the supervisor, by their module; the
    gateway's workers together)."""
    found: dict[str, list[psutil.Process]] = {}
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            for part in child.cmdline():
                if part.startswith("bdg_") and part.endswith(".main"):
                    name = part.removesuffix(".main").split(".")[-1].removeprefix("bdg_")
                    found.setdefault(name, []).append(child)
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
    url: str, workdir: Path, port: int, secret: str, names: list[str], workers: int
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
    # As `bdg up` does: one listening socket, shared by the gateway's workers.
    listener = gateway_listener("127.0.0.1", port, workers)
    listeners = {"gateway": listener} if "gateway" in names else {}
    supervisor = Supervisor(commands, env, Console(file=log, width=200), listeners=listeners)
    running = asyncio.create_task(supervisor.run())
    try:
        yield
    finally:
        supervisor.request_stop()
        await running
        listener.sock.close()
        log.close()


BODY = json.dumps({"goal": GOAL, "plan_approval": "auto"})


async def burst(port: int, n: int, rounds: int, headers: list[str]) -> list[list[float]]:
    """``rounds`` of ``n`` concurrent POST /jobs from bench/http_burst.py; each round's times."""
    argv = ["127.0.0.1", str(port), "--concurrency", str(n), "--rounds", str(rounds)]
    argv += ["--body", BODY] + [arg for header in headers for arg in ("--header", header)]
    client = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.http_burst", *argv, cwd=ROOT, stdout=subprocess.PIPE
    )
    out, _ = await client.communicate()
    if client.returncode != 0:
        raise RuntimeError(f"bench.http_burst exited with {client.returncode}")
    times: list[list[float]] = json.loads(out)
    return times


async def answering(http: httpx.AsyncClient, path: str) -> None:
    async def up() -> bool:
        with contextlib.suppress(httpx.TransportError):
            return (await http.get(path)).status_code < 500
        return False

    await eventually(up, 120, f"{http.base_url} to answer")


async def bare_http(n: int, rounds: int) -> tuple[list[float], float, float]:
    """``rounds`` of ``n`` concurrent POSTs to a server that only answers (the HTTP floor);
    their times, the server's and the client's CPU seconds per request."""
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.bare_http", str(port), cwd=ROOT
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            await answering(http, "/")
        await burst(port, 20, 1, [])  # warm
        cpu = CpuMeter(lambda: [psutil.Process(server.pid)])
        times = [t for times in await burst(port, n, rounds, []) for t in times]
        return times, cpu.seconds() / (n * rounds), cpu.client / (n * rounds)
    finally:
        server.terminate()
        await server.wait()


class CpuMeter:
    """CPU seconds used since it was made by the processes ``which`` lists (looked at both
    then and at ``seconds()``: a process that started meanwhile counts whole); ``client`` is
    what this process's finished children (the load generator) used meanwhile."""

    def __init__(self, which: Callable[[], list[psutil.Process]]) -> None:
        self.which = which
        self.before = self._snapshot()
        self._children_before = _children_cpu()
        self.client = 0.0

    def _snapshot(self) -> dict[int, float]:
        seen: dict[int, float] = {}
        for proc in self.which():
            with contextlib.suppress(psutil.NoSuchProcess):
                times = proc.cpu_times()
                seen[proc.pid] = times.user + times.system
        return seen

    def seconds(self) -> float:
        self.client = _children_cpu() - self._children_before
        return sum(cpu - self.before.get(pid, 0.0) for pid, cpu in self._snapshot().items())


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def postgres_backends(database: str) -> list[psutil.Process]:
    """The PostgreSQL server processes serving ``database`` (their title names it)."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["name"] == "postgres" and f" {database} " in f"{cmdline} ":
            found.append(proc)
    return found


async def run(args: argparse.Namespace) -> None:
    with fresh_database(ADMIN) as url, tempfile.TemporaryDirectory() as tmp:
        migrate(url)
        port, secret = free_port(), secrets.token_urlsafe(32)
        claims = {"sub": "bench", "tenant": "bench", "aud": "bigdaddyg", "exp": time.time() + 3600}
        token = jwt.encode(claims, secret, algorithm="HS256")
        headers = {"Authorization": f"Bearer {token}"}
        # The raw limits first, on idle servers: what the hardware gives, nothing else running.
        commits = await raw_commits(url, args.concurrency)
        publishes = await raw_publishes(args.concurrency)
        floor, floor_cpu, floor_client = await bare_http(args.concurrency, args.rounds)
        async with (
            services(url, Path(tmp), port, secret, args.services, args.gateway_workers),
            httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60
            ) as http,
        ):
            await answering(http, "/healthz")
            auth = [f"Authorization: Bearer {token}"]
            await burst(port, 20, 1, auth)  # warm: the first requests open connections, load code
            procs = services_by_name()
            database = str(conninfo_to_dict(url)["dbname"])
            meters = {
                "gateway": CpuMeter(lambda: procs["gateway"]),
                "other services": CpuMeter(
                    lambda: [p for n, ps in procs.items() if n != "gateway" for p in ps]
                ),
                "PostgreSQL backends of this database": CpuMeter(
                    lambda: postgres_backends(database)
                ),
                "this process (supervisor, log pump)": CpuMeter(lambda: [psutil.Process()]),
            }
            client_meter = CpuMeter(list)
            load_before = os.getloadavg()[0]
            rounds = await burst(port, args.concurrency, args.rounds, auth)
            requests = args.concurrency * args.rounds
            cpu = {name: meter.seconds() / requests for name, meter in meters.items()}
            client_meter.seconds()
            cpu["client (bench.http_burst)"] = client_meter.client / requests
        running = "all services" if set(args.services) == set(SERVICES) else args.services
        workers = gateway_workers(args.gateway_workers)
        print(
            f"\n{args.concurrency} concurrent requests, {running} running (recorded answers), "
            f"{workers} gateway worker(s)"
        )
        for i, times in enumerate(rounds, 1):
            report(f"POST /jobs, round {i}", times)
        report("POST /jobs, all rounds", [t for times in rounds for t in times])
        print("CPU per request during the rounds:")
        for name, seconds in cpu.items():
            print(f"  {name:<50} {seconds * 1000:8.2f} ms")
        print("raw limits of the same servers, same run, same concurrency (idle servers):")
        report(f"  INSERT+COMMIT, {STORE_CONNECTIONS} connections", commits)
        report("  JetStream publish-with-ack, one connection", publishes)
        report("  HTTP floor: uvicorn answering 201, same client, all rounds", floor)
        print(f"  {'HTTP floor: server CPU per request':<50} {floor_cpu * 1000:8.2f} ms")
        print(f"  {'HTTP floor: client CPU per request':<50} {floor_client * 1000:8.2f} ms")
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"load average: {load} on {os.cpu_count()} cores (1-min {load_before:.2f} at start)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--gateway-workers",
        type=int,
        default=Settings().bdg_gateway_workers,
        help="gateway processes on the one socket (default: BDG_GATEWAY_WORKERS's)",
    )
    parser.add_argument(
        "--services", nargs="+", default=list(SERVICES), choices=SERVICES, help="(default: all)"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
