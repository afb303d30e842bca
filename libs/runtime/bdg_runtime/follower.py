"""The log follower: relay (outbox), projections and reconciler, run by one leader at a time.

Every service process competes for a PostgreSQL advisory lock; the holder follows the
notification log. If it dies its session ends, the lock is freed and another process takes over.
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


class FollowerTask(Protocol):
    name: str

    async def step(self) -> int:
        """Do what is due; return how much was done (0 = idle)."""
        ...


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _acquire(conn: psycopg.AsyncConnection[Any], stop: asyncio.Event) -> bool:
    while not stop.is_set():
        cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK,))
        row = await cur.fetchone()
        if row and row[0]:
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
) -> None:
    """Lead while the connection lives; on connection loss, compete again."""
    while not stop.is_set():
        try:
            await _lead(database_url, tasks, stop, idle_wait)
        except (psycopg.OperationalError, OSError) as error:
            log.warning("follower lost its database connection: %s", error)
            await _wait(stop, 1.0)


async def _lead(
    url: str, tasks: Sequence[FollowerTask], stop: asyncio.Event, idle_wait: float
) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        if not await _acquire(conn, stop):
            return
        log.info("leading the log follower: %s", ", ".join(t.name for t in tasks))
        await conn.execute(f"LISTEN {EVENTS_TABLE}")
        while not stop.is_set():
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
