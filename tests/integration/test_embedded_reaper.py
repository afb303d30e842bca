"""A crashed user's embedded servers stop (bdg_runtime/embedded_reaper.py): real PostgreSQL, NATS
and SeaweedFS under a temporary home, users as real processes killed with SIGKILL."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from bdg_runtime.embedded import _alive, start_embedded
from bdg_runtime.embedded_reaper import Watch, look, running_servers
from tests.waiting import wait_until

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]

USER = """
import sys
from pathlib import Path
from bdg_runtime.embedded import start_embedded
start_embedded(Path(sys.argv[1]), s3=sys.argv[2] == "s3")
print("ready", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def home() -> Iterator[Path]:
    # Not under pytest's tmp_path: pgserver opens PGDATA's ancestors to its `pgserver` user.
    path = Path(tempfile.mkdtemp(prefix="bdg-test-reaper-"))
    yield path / "bdg"
    shutil.rmtree(path, ignore_errors=True)


async def user(home: Path, s3: bool = False) -> asyncio.subprocess.Process:
    """A process that starts (or joins) the home's servers and waits."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        USER,
        str(home),
        "s3" if s3 else "-",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert await asyncio.wait_for(proc.stdout.readline(), 60) == b"ready\n"
    return proc


async def kill(proc: asyncio.subprocess.Process) -> None:
    proc.kill()  # SIGKILL: no cleanup runs
    await asyncio.wait_for(proc.wait(), 10)


async def crashed_user(home: Path, s3: bool = False) -> dict[str, int]:
    """A user of the home's servers that dies by SIGKILL; the servers it saw running."""
    proc = await user(home, s3)
    servers = running_servers(home)
    await kill(proc)
    return servers


def reaper_pid(home: Path) -> int:
    return int(json.loads((home / "reaper.json").read_text())["pid"])


def gone(pids: dict[str, int]) -> bool:
    return not any(_alive(pid) for pid in pids.values())


async def test_a_killed_user_s_servers_stop_and_the_next_start_has_the_data(home: Path) -> None:
    first = start_embedded(home)  # some data, written by a user that lets go properly
    assert first.database_url
    with psycopg.connect(first.database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)")
    first.stop()

    servers = await crashed_user(home, s3=True)
    assert set(servers) == {"nats", "postgres", "s3"}
    reaper = reaper_pid(home)
    wait_until(lambda: gone(servers), 30, "the crashed user's servers to stop")
    wait_until(lambda: not _alive(reaper), 10, "the reaper to exit")
    assert not (home / "reaper.json").exists()
    assert not (home / "pg" / "postmaster.pid").exists()  # a clean shutdown, not a kill

    again = start_embedded(home)
    try:
        assert again.database_url
        with psycopg.connect(again.database_url) as conn:
            assert conn.execute("SELECT n FROM kept").fetchall() == [(7,)]
        assert reaper_pid(home) != reaper  # a new reaper for the new run
    finally:
        again.stop()


async def test_a_live_user_keeps_the_servers_a_killed_one_shared(home: Path) -> None:
    ours = start_embedded(home)
    try:
        reaper = reaper_pid(home)
        servers = await crashed_user(home)  # joins ours, then dies
        assert servers == running_servers(home)
        assert reaper_pid(home) == reaper  # one reaper per home
        # The reaper's look, taken here: a user lives, so nothing is stopped.
        assert look(Watch(home)) is False
        assert running_servers(home) == servers
        assert ours.database_url
        with psycopg.connect(ours.database_url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        ours.stop()  # the last live user: stops them itself, and the reaper then exits
    assert gone(servers)
    wait_until(lambda: not _alive(reaper), 10, "the reaper to exit")


async def test_the_last_user_s_stop_stops_the_reaper_at_once(home: Path) -> None:
    """Nothing of the home outlives the command that used it (a demo's test once found the
    reaper still waiting for its next look)."""
    other = await user(home)  # a live user: the reaper stays for it
    ours = start_embedded(home, s3=True)
    reaper = reaper_pid(home)
    assert other.stdin is not None
    other.stdin.close()
    await asyncio.wait_for(other.wait(), 30)  # it let go; ours still holds the servers
    assert _alive(reaper)
    servers = running_servers(home)
    ours.stop()
    assert gone(servers)
    assert not _alive(reaper)  # not at its next look: now
    assert not (home / "reaper.json").exists()


async def test_a_deleted_home_s_servers_stop_once_its_users_die(home: Path) -> None:
    proc = await user(home)
    servers, reaper = running_servers(home), reaper_pid(home)
    watch = Watch(home)  # the reaper's looks, taken here too: before and after the deletion
    assert look(watch) is False
    shutil.rmtree(home)  # as a test's or a bench's temporary home goes, its user still alive
    assert look(watch) is False  # a user lives: nothing stopped yet
    assert not gone(servers)
    await kill(proc)
    wait_until(lambda: gone(servers), 30, "the deleted home's servers to stop")
    wait_until(lambda: not _alive(reaper), 10, "the reaper to exit")
