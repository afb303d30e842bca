"""The embedded stack: real PostgreSQL + pgvector and NATS JetStream from the wheels."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import nats
import psycopg
import pytest

from bdg_runtime.embedded import _alive, embedded_stack, resolve_urls, start_embedded
from bdg_runtime.settings import Settings
from tests.waiting import eventually, wait_until


@pytest.fixture
def home() -> Iterator[Path]:
    # Not under pytest's tmp_path: as root, pgserver opens PGDATA's ancestors to its `pgserver`
    # user, and any concurrent pytest session resets /tmp/pytest-of-root to 0700 again.
    path = Path(tempfile.mkdtemp(prefix="bdg-test-"))
    yield path / "bdg"
    shutil.rmtree(path, ignore_errors=True)


def postgres_running(home: Path) -> bool:
    return (home / "pg" / "postmaster.pid").exists()


async def write_data(db_url: str, nats_url: str, name: str) -> None:
    async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        await conn.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, embedding vector(3))")
        await conn.execute(f"INSERT INTO {name} VALUES (1, '[1,0,0]'), (2, '[0,1,0]')")
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_stream(name=name, subjects=[f"{name}.>"])
    await js.publish(f"{name}.hello", b"kept")
    sub = await js.pull_subscribe(f"{name}.>", durable="reader")
    [msg] = await sub.fetch(1, timeout=5)
    assert msg.data == b"kept"
    await msg.ack_sync()
    await nc.close()


async def read_data(db_url: str, nats_url: str, name: str, *, acks_kept: bool = True) -> None:
    async with await psycopg.AsyncConnection.connect(db_url) as conn:
        query = f"SELECT id FROM {name} ORDER BY embedding <-> '[0,0.9,0.1]' LIMIT 1"
        cur = await conn.execute(query)
        assert await cur.fetchone() == (2,)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    assert (await js.get_msg(name, 1)).data == b"kept"
    if acks_kept:  # NATS writes consumer state lazily: a kill -9 loses recent acks (redelivery)
        assert (await js.consumer_info(name, "reader")).num_ack_pending == 0
    await nc.close()


@pytest.mark.timeout(90)
async def test_data_survives_a_stop_and_a_second_start(home: Path) -> None:
    name = f"t_{uuid.uuid4().hex[:10]}"
    with embedded_stack(home) as first:
        assert first.database_url
        assert first.nats_url
        await write_data(first.database_url, first.nats_url, name)
        nats_pid = first.nats_pid
    assert nats_pid is not None
    assert not _alive(nats_pid)
    assert not postgres_running(home)

    with embedded_stack(home) as second:
        assert second.nats_url == first.nats_url  # port remembered in stack.json
        assert second.database_url
        assert second.nats_url
        await read_data(second.database_url, second.nats_url, name)


@pytest.mark.timeout(90)
async def test_a_killed_nats_is_restarted_on_the_next_start(home: Path) -> None:
    name = f"t_{uuid.uuid4().hex[:10]}"
    first = start_embedded(home)
    try:
        assert first.database_url
        assert first.nats_url
        assert first.nats_pid
        await write_data(first.database_url, first.nats_url, name)
        os.kill(first.nats_pid, signal.SIGKILL)
        wait_until(lambda: not _alive(first.nats_pid or 0))

        with embedded_stack(home) as second:
            assert second.nats_pid != first.nats_pid
            assert second.database_url
            assert second.nats_url
            await read_data(second.database_url, second.nats_url, name, acks_kept=False)
    finally:
        first.stop()
    assert not postgres_running(home)


@pytest.mark.timeout(60)
def test_resolve_urls_starts_only_what_is_not_configured(home: Path) -> None:
    given = Settings(database_url="postgresql://db/x", nats_url="nats://n:4222", bdg_home=home)
    assert resolve_urls(given) == ("postgresql://db/x", "nats://n:4222", None)

    only_db = Settings(database_url="postgresql://db/x", bdg_home=home)
    db, nats_url, stack = resolve_urls(only_db)
    assert stack is not None
    try:
        assert db == "postgresql://db/x"
        assert nats_url.startswith("nats://127.0.0.1:")
        assert not (home / "pg").exists()
    finally:
        stack.stop()


def postmaster_pid(home: Path) -> int:
    return int((home / "pg" / "postmaster.pid").read_text().splitlines()[0])


async def start_and_leave(home: Path) -> None:
    """Another command (`bdg job list`, ...) starts the stack and exits without stopping it."""

    async def started() -> bool:
        other = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; "
            "from bdg_runtime.embedded import start_embedded; start_embedded(Path(sys.argv[1]))",
            str(home),
            stderr=asyncio.subprocess.DEVNULL,
        )
        # It fails while the killed postmaster's backends still hold its shared memory.
        return await asyncio.wait_for(other.wait(), 60) == 0

    await eventually(started, 60, "another command to start the stack")


@pytest.mark.timeout(120)
async def test_stop_stops_the_servers_another_command_restarted(home: Path) -> None:
    stack = start_embedded(home)
    try:
        assert stack.nats_pid
        killed = (stack.nats_pid, postmaster_pid(home))
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not any(_alive(pid) for pid in killed))
        restarted_nats = restarted_pg = 0
        await start_and_leave(home)  # it restarts both, then lets go of them
        restarted_nats = int(json.loads((home / "stack.json").read_text())["nats_pid"])
        restarted_pg = postmaster_pid(home)
        assert _alive(restarted_nats, "nats-server")
        assert _alive(restarted_pg, "postgres")
        assert (restarted_nats, restarted_pg) != killed
    finally:
        stack.stop()  # the last user: what runs now must stop, not only what it started
        left = [pid for pid in (restarted_nats, restarted_pg) if pid and _alive(pid)]
        for pid in left:  # a failure must not leave them running for the rest of the suite
            os.kill(pid, signal.SIGTERM)
    assert not left, "the restarted servers were left running"


@pytest.mark.timeout(120)
async def test_the_stack_restarts_its_servers_on_the_same_urls(home: Path) -> None:
    name = f"t_{uuid.uuid4().hex[:10]}"
    stack = start_embedded(home)
    try:
        assert stack.database_url
        assert stack.nats_url
        urls = (stack.database_url, stack.nats_url)
        await write_data(stack.database_url, stack.nats_url, name)
        assert stack.nats_pid
        os.kill(stack.nats_pid, signal.SIGKILL)
        os.kill(postmaster_pid(home), signal.SIGKILL)
        wait_until(lambda: not stack.nats_alive() and not stack.postgres_alive())

        assert "at " + stack.nats_url in stack.restart_nats()
        await retry_until_started(stack.restart_postgres)
        assert stack.nats_alive()
        assert stack.postgres_alive()
        assert (stack.database_url, stack.nats_url) == urls
        await read_data(stack.database_url, stack.nats_url, name, acks_kept=False)
    finally:
        stack.stop()
    assert not postgres_running(home)


async def retry_until_started(restart: Callable[[], str]) -> str:
    # Backends of the killed postmaster may hold its shared memory for a moment; `bdg up`'s
    # supervisor retries with backoff the same way.
    async def started() -> str | None:
        try:
            return await asyncio.to_thread(restart)
        except subprocess.CalledProcessError:
            return None

    return await eventually(started, 30, "PostgreSQL to start again")
