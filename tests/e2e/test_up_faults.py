"""kill -9 of the embedded NATS, then of PostgreSQL, under `bdg up` in the middle of a stream of
jobs: `bdg up` restarts each where it was, every job still reaches its end state with the same
events (none twice), and on exit nothing it started (restarted servers too) is left running."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import UUID

import httpx
import jwt
import psutil
import pytest

from bdg_cli.up import default_commands
from bdg_contracts.states import JobState
from bdg_jobs.store import JobStore
from tests.e2e.harness import wait_for_state
from tests.e2e.test_bdg_up import gone, kill_if_running, read_until, stop_leftovers, up_process
from tests.e2e.test_job_lifecycle import assert_each_cause_once
from tests.ports import free_port
from tests.waiting import eventually

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
ROOT = Path(__file__).resolve().parents[2]
GOAL = "Create a React PWA that stores notes in IndexedDB and works offline"  # recorded
END = JobState.awaiting_deploy_approval  # plan approval auto; the deploy waits for a human
PER_BATCH = 3


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Outside pytest's 0700 tmp root: as root, pgserver's own user must traverse to PGDATA.
    path = Path(tempfile.mkdtemp(prefix="bdg-up-faults-"))
    os.chmod(path, 0o755)
    yield path
    stop_leftovers(path / "home")
    shutil.rmtree(path, ignore_errors=True)


def up_env(workdir: Path, secret: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL")}
    return {
        **env,
        "BDG_ANSWERS_FILE": str(ROOT / "examples" / "reference-job.json"),
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",  # never called: every answer is recorded
        "JWT_SECRET": secret,
        "GATEWAY_PORT": str(port),
        "BDG_LOG_FORMAT": "text",
        "BDG_RECONCILE_AFTER_SECONDS": "5",
        "AGENT_SANDBOX_ENDPOINT": f"unix://{workdir}/no-sandbox.sock",
        "PYTHONUNBUFFERED": "1",
    }


def token(secret: str) -> str:
    claims = {"sub": "alice", "tenant": "faults", "aud": "bigdaddyg", "exp": time.time() + 3600}
    return jwt.encode(claims, secret, algorithm="HS256")


async def create_jobs(http: httpx.AsyncClient, n: int) -> list[UUID]:
    """``n`` jobs at once; a request the gateway could not serve (its database restarting) is
    asked again, as any client would."""

    async def one() -> UUID:
        async def created() -> UUID | None:
            try:
                answer = await http.post("/jobs", json={"goal": GOAL, "plan_approval": "auto"})
            except httpx.TransportError:
                return None
            if answer.status_code == 503:  # the database restarting: asked to come back
                assert answer.headers["Retry-After"]
                return None
            assert answer.status_code == 201, answer.text
            return UUID(answer.json()["id"])

        return await eventually(created, 60, "a job created")

    return list(await asyncio.gather(*(one() for _ in range(n))))


def kill9(pid: int) -> int:
    os.kill(pid, signal.SIGKILL)
    return pid


def nats_pid(home: Path) -> int:
    return int(json.loads((home / "stack.json").read_text())["nats_pid"])


def postmaster_pid(home: Path) -> int | None:
    with contextlib.suppress(FileNotFoundError, ValueError, IndexError):
        return int((home / "pg" / "postmaster.pid").read_text().splitlines()[0])
    return None


def servers_of(home: Path) -> list[psutil.Process]:
    """nats-server and postmaster processes running on this home's data."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
            ours = proc.info["name"] in ("nats-server", "postgres") and str(home) in cmdline
            if ours and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.Error:
            continue
    return found


async def test_jobs_finish_through_kill9_of_nats_then_postgres(workdir: Path) -> None:
    home, secret, port = workdir / "home", secrets.token_urlsafe(32), free_port()
    env = up_env(workdir, secret, port)
    proc = await up_process(home, default_commands(), {"sandbox": False}, env, ROOT)
    seen: list[str] = []
    headers = {"Authorization": f"Bearer {token(secret)}"}
    try:
        stack = await read_until(proc, r"\[up\] stack embedded under \S+: (\S+) (\S+)", seen)
        database_url = stack[1]
        await read_until(proc, r"\[gateway\] .*gateway listening on", seen)
        output = asyncio.create_task(drain(proc, seen))
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
            jobs = await create_jobs(http, PER_BATCH)

            killed = kill9(nats_pid(home))
            jobs += await create_jobs(http, PER_BATCH)  # committed, published by the relay later
            await back(http, lambda: nats_pid(home) != killed)

            killed = kill9(postmaster_pid(home))
            jobs += await create_jobs(http, PER_BATCH)
            await back(http, lambda: postmaster_pid(home) != killed)
            jobs += await create_jobs(http, PER_BATCH)

            store = JobStore.from_url(database_url)
            try:
                histories = [await wait_for_state(store, job, END, 240) for job in jobs]
            finally:
                store.close()

            async def listed() -> set[UUID] | None:
                page = await http.get("/jobs", params={"limit": 100})
                assert page.status_code == 200, page.text  # its pool reconnected
                ids = {UUID(item["id"]) for item in page.json()["items"]}
                return ids if ids == set(jobs) else None

            await eventually(listed, 30, "GET /jobs to list exactly the jobs created")
        reference = [e.name for e in histories[0]]
        for history in histories:
            assert [e.name for e in history] == reference  # the same events, none twice
            assert_each_cause_once(history)

        for server in ("nats", "postgres"):  # logged under their own prefix
            assert any(line.startswith(f"[{server}] restarted: pid ") for line in seen)
        restarted = servers_of(home)
        assert {p.info["name"] for p in restarted} == {"nats-server", "postgres"}
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 90)
        await output
        assert proc.returncode == 0, "\n".join(seen)
        assert all(gone(p.pid) for p in restarted), "\n".join(seen)
        assert not servers_of(home), "\n".join(seen)
    finally:
        await kill_if_running(proc)
        print("\n".join(seen))


async def drain(proc: asyncio.subprocess.Process, seen: list[str]) -> None:
    assert proc.stdout is not None
    while line := await proc.stdout.readline():
        seen.append(line.decode(errors="replace").rstrip("\n"))


async def back(http: httpx.AsyncClient, restarted: Callable[[], bool]) -> None:
    """The killed server runs again (another pid) and the gateway reaches both servers."""

    async def ok() -> bool:
        with contextlib.suppress(httpx.TransportError):
            return restarted() and (await http.get("/healthz")).status_code == 200
        return False

    await eventually(ok, 60, "the server to run again and /healthz to say ok")
