"""Signs of life of running handlers, for the reconciler: a table, not events.

A step's handler may work for minutes before it appends anything (the coder writes an attempt's
events when the attempt ends). The reconciler re-drives a job in a working state whose last
event is older than ``BDG_RECONCILE_AFTER_SECONDS``, so it re-drove jobs whose handler was busy
(three times in every live coding attempt). Each running handler now upserts a row here every few
seconds and deletes it when it ends; the reconciler leaves a job alone while its row is fresh.

Why not a progress event: a heartbeat is no fact about the job. In the log it would grow every
history by one event every few seconds, travel over the bus, the WebSocket and audit exports,
and be compared by replays. A row per (job, service) is all the reconciler needs, and a handler
that dies stops beating, so its job is re-driven as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from uuid import UUID

import psycopg

log = logging.getLogger(__name__)

BEAT_SQL = (
    "INSERT INTO bdg_step_heartbeats (job_id, service, event_version, beat_at) "
    "VALUES (%s, %s, %s, now()) ON CONFLICT (job_id, service) "
    "DO UPDATE SET event_version = EXCLUDED.event_version, beat_at = now()"
)
END_SQL = "DELETE FROM bdg_step_heartbeats WHERE job_id = %s AND service = %s"
# The reconciler's test: a job with a beat newer than its threshold is being worked on.
ALIVE_SQL = (
    'SELECT 1 FROM bdg_step_heartbeats h WHERE h.job_id = agent_config."jobId" '
    "AND h.beat_at > now() - make_interval(secs => %s)"
)


class StepHeartbeats:
    """One connection, shared by a process's handlers; a failed write is logged and retried at
    the next beat (a missed beat only lets the reconciler re-drive, as before)."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self._conn: psycopg.AsyncConnection[object] | None = None
        self._lock = asyncio.Lock()

    async def beat(self, job_id: UUID, service: str, event_version: int) -> None:
        await self._write(BEAT_SQL, (str(job_id), service, event_version))

    async def end(self, job_id: UUID, service: str) -> None:
        await self._write(END_SQL, (str(job_id), service))

    async def _write(self, sql: str, params: tuple[object, ...]) -> None:
        async with self._lock:
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
                await self._conn.execute(sql, params)
            except psycopg.Error as error:
                log.warning("heartbeat not written (the reconciler may re-drive): %s", error)
                await self.close()

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(psycopg.Error):
                await conn.close()
