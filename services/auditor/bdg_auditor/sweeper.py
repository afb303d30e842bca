"""Retry from the log: job endings older than a while with no recorded audit file get one.

Covers what the reactions could not do: S3 down when the job ended, messages JetStream lost,
jobs that ended before the auditor ran. It remembers the notification id below which every
ending is audited, so each pass reads only the log's tail.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg

from bdg_audit.store import StorageUnavailableError
from bdg_auditor.application import Auditing
from bdg_auditor.handlers import ENDINGS
from bdg_contracts.audit_events import audit_trail_id
from bdg_jobs.store import EVENTS_TABLE

log = logging.getLogger(__name__)

_ENDINGS = f"""
    SELECT notification_id, originator_id, originator_version, state
    FROM {EVENTS_TABLE}
    WHERE notification_id > %s AND topic = ANY(%s)
    ORDER BY notification_id LIMIT 500
"""
_RECORDED = f"""
    SELECT originator_id, state FROM {EVENTS_TABLE}
    WHERE topic = 'AuditFileWritten' AND originator_id = ANY(%s)
"""


class Sweeper:
    def __init__(self, auditing: Auditing, database_url: str, after: timedelta) -> None:
        self.auditing, self.url, self.after = auditing, database_url, after
        self.done_below = 0  # every ending at or below this notification id is audited

    async def _pending(
        self, conn: psycopg.AsyncConnection[Any]
    ) -> list[tuple[int, UUID, int, datetime]]:
        """Endings past the mark whose file is not recorded, in log order."""
        cur = await conn.execute(_ENDINGS, (self.done_below, [c.__name__ for c in ENDINGS]))
        rows = await cur.fetchall()
        if not rows:
            return []
        trails = [audit_trail_id(UUID(str(r[1]))) for r in rows]
        cur = await conn.execute(_RECORDED, (trails,))
        recorded = {
            (str(r[0]), json.loads(bytes(r[1]))["through_version"]) for r in await cur.fetchall()
        }
        pending = []
        for notification, job, version, state in rows:
            job_id = UUID(str(job))
            if (str(audit_trail_id(job_id)), version) not in recorded:
                ended = datetime.fromisoformat(json.loads(bytes(state))["occurred_at"])
                pending.append((int(notification), job_id, int(version), ended))
        if not pending:
            self.done_below = int(rows[-1][0])
        return pending

    async def step(self) -> int:
        """One pass; returns how many files it wrote. The mark moves past an ending once it is
        settled (written, or not an end after all), never past a young one or a failed one."""
        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
            pending = await self._pending(conn)
        cutoff = datetime.now(UTC) - self.after
        written, settled = 0, True
        for notification, job_id, version, ended in pending:
            if ended > cutoff:  # young: the reaction's turn
                settled = False
                continue
            try:
                if await self.auditing.write_file(job_id, version) is not None:
                    written += 1
            except StorageUnavailableError as error:
                log.warning("S3 still unreachable, audit files wait: %s", error)
                break
            if settled:
                self.done_below = notification
        return written

    async def run(self, every: float, stop: asyncio.Event) -> None:
        await every_while(self.step, every, stop)


async def every_while(
    step: Callable[[], Awaitable[int]], every: float, stop: asyncio.Event
) -> None:
    """``step`` every ``every`` seconds until ``stop``; a failed pass is logged, not fatal."""
    while not stop.is_set():
        try:
            done = await step()
            if done:
                log.info("%s: %d done", getattr(step, "__qualname__", "step"), done)
        except (psycopg.Error, OSError, StorageUnavailableError):
            log.warning("audit background pass failed; next pass later", exc_info=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
