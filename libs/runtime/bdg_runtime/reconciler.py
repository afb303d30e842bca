"""Re-drives jobs whose last event got no reaction in time, from PostgreSQL (source of truth).

JetStream may lose acknowledged messages (it syncs to disk periodically); the job log may not.
A job whose handler is still running (a fresh row in ``bdg_step_heartbeats``, see
``heartbeats.py``) is not stalled, however old its last event.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from uuid import UUID

import psycopg

from bdg_contracts.states import WORKING_STATES
from bdg_runtime.heartbeats import ALIVE_SQL
from bdg_runtime.redrive import Redriver

log = logging.getLogger(__name__)


class Reconciler:
    name = "reconciler"

    def __init__(self, database_url: str, redrive: Redriver, after_seconds: float) -> None:
        self.url, self.redrive, self.after = database_url, redrive, after_seconds
        self._next = 0.0
        # (job, version) -> (when to look again, backoff): a job that stays stalled at one
        # version is re-driven again with growing pauses, not on every pass.
        self._redriven: dict[tuple[UUID, int], tuple[float, float]] = {}

    async def stalled_jobs(self) -> list[tuple[UUID, int]]:
        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
            cur = await conn.execute(
                'SELECT "jobId", version FROM agent_config WHERE state = ANY(%s) '
                'AND "updatedAt" < now() - make_interval(secs => %s) '
                f"AND NOT EXISTS ({ALIVE_SQL}) "
                'ORDER BY "updatedAt" LIMIT 100',
                ([s.value for s in WORKING_STATES], self.after, self.after),
            )
            rows: list[Any] = await cur.fetchall()
        return [(UUID(str(r[0])), int(r[1] or 0)) for r in rows]

    async def step(self) -> int:
        now = time.monotonic()
        if now < self._next:
            return 0
        self._next = now + max(self.after / 4, 0.2)
        for job_id, version in await self.stalled_jobs():
            again, backoff = self._redriven.get((job_id, version), (0.0, self.after))
            if now < again:
                continue
            trigger = await self.redrive(job_id)
            if trigger is not None:
                log.warning("re-drove job %s: %s v%d", job_id, trigger.name, trigger.version)
                # Growing pauses, capped: a re-drive lost in a broker restart is retried soon.
                later = min(backoff * 2, self.after * 4)
                self._redriven[(job_id, version)] = (now + backoff, later)
        if len(self._redriven) > 10_000:
            self._redriven.clear()
        # Re-drives are handled by consumers; this task never needs an immediate second pass.
        return 0
