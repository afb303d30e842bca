"""The log follower: relay (outbox), projections and reconciler, run by one leader at a time.

Every service process competes for a PostgreSQL advisory lock; the holder follows the
notification log. If it dies its session ends, the lock is freed and another process takes over.

The gateway is a standby: following is background work, and in the gateway it would share a
process (and its GIL) with the requests people wait on. Background services hold a shared
"worker present" lock while they compete; the gateway leads only while no worker holds it, and
hands the lead back as soon as one does. A gateway run alone still relays and projects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any, Protocol

import psycopg

from bdg_jobs.store import EVENTS_TABLE

log = logging.getLogger(__name__)
LEADER_LOCK = 0x6264_675F_6C65_6164  # "bdg_lead"
WORKER_PRESENT = 0x6264_675F_776F_726B  # "bdg_work": shared by every non-standby follower


class FollowerTask(Protocol):
    name: str

    async def step(self) -> int:
        """Do what is due; return how much was done (0 = idle)."""
        ...


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _try_lock(conn: psycopg.AsyncConnection[Any], key: int) -> bool:
    cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (key,))
    row = await cur.fetchone()
    return bool(row and row[0])


async def _no_worker(conn: psycopg.AsyncConnection[Any]) -> bool:
    """True when no background follower is connected (none holds the shared presence lock).
    Read from pg_locks, where a bigint key is split in two (objsubid 1): nothing is locked."""
    cur = await conn.execute(
        "SELECT NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 1)",
        (WORKER_PRESENT >> 32, WORKER_PRESENT & 0xFFFF_FFFF),
    )
    row = await cur.fetchone()
    return bool(row and row[0])


async def _acquire(conn: psycopg.AsyncConnection[Any], stop: asyncio.Event, standby: bool) -> bool:
    while not stop.is_set():
        if (not standby or await _no_worker(conn)) and await _try_lock(conn, LEADER_LOCK):
            return True
        await _wait(stop, 1.0)
    return False


async def _notified(conn: psycopg.AsyncConnection[Any], within: float) -> bool:
    async for _ in conn.notifies(timeout=within, stop_after=1):
        return True
    return False


async def follow(
    database_url: str,
    tasks: Sequence[FollowerTask],
    stop: asyncio.Event,
    idle_wait: float = 1.0,
    *,
    standby: bool = False,
) -> None:
    """Lead while the connection lives; on connection loss, compete again. A ``standby``
    leads only while no other follower is there (see the module's docstring)."""
    while not stop.is_set():
        try:
            await _lead(database_url, tasks, stop, idle_wait, standby)
        except (psycopg.OperationalError, OSError) as error:
            log.warning("follower lost its database connection: %s", error)
            await _wait(stop, 1.0)


async def _lead(
    url: str, tasks: Sequence[FollowerTask], stop: asyncio.Event, idle_wait: float, standby: bool
) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        if not standby:
            await conn.execute("SELECT pg_advisory_lock_shared(%s)", (WORKER_PRESENT,))
        if not await _acquire(conn, stop, standby):
            return
        log.info("leading the log follower: %s", ", ".join(t.name for t in tasks))
        await conn.execute(f"LISTEN {EVENTS_TABLE}")
        while not stop.is_set():
            if standby and not await _no_worker(conn):
                log.info("a background service is here: handing the log follower over")
                return  # the session ends with the connection: the lead is free at once
            done = 0
            for task in tasks:
                try:
                    done += await task.step()
                except Exception:
                    log.exception("follower task %s failed; retrying", task.name)
            if done:
                continue
            # Woken by the NOTIFY that the recorder sends on every insert, or by the clock.
            await _notified(conn, idle_wait)
