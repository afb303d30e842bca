"""The budget alerts outbox (``bdg_budget_alerts``): one row per cap, period and threshold,
each owing one event and one email. The daily roll-up writes the 80% rows (their event,
``BudgetWarningReached``, is still to record); a cap reached (``BudgetExceeded``, recorded
already on the job) writes its 100% row, one for every job it suspends (``queue_reached``).

Emails are sent one row at a time under the row's lock (``FOR UPDATE SKIP LOCKED``), so two
auditor replicas never send the same alert; a failed send is tried again after a backoff that
doubles per attempt. The row is marked sent in the transaction that holds its lock: a process
killed after the SMTP server accepted the message and before that commit sends it once more on
restart (SMTP has no way to ask "did you get it?"), with the same Message-ID, which mail
systems use to drop the duplicate.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

log = logging.getLogger(__name__)

REACHED_PERCENT = 100

_COLUMNS = "key, period, percent, tenant, cap_usd, spent_usd"
_UNRECORDED = f"SELECT {_COLUMNS} FROM bdg_budget_alerts WHERE NOT event_recorded LIMIT 500"
_REACHED = """
    INSERT INTO bdg_budget_alerts
        (key, period, percent, tenant, cap_usd, spent_usd, event_recorded)
    VALUES (%(key)s, %(period)s, %(percent)s, %(tenant)s, %(cap)s, %(spent)s, true)
    ON CONFLICT DO NOTHING
"""
_RECORDED = """
    UPDATE bdg_budget_alerts SET event_recorded = true
    WHERE key = %(key)s AND period = %(period)s AND percent = %(percent)s
"""
_CLAIM = f"""
    SELECT {_COLUMNS}, email_attempts FROM bdg_budget_alerts
    WHERE email_sent_at IS NULL AND email_next_at <= %(pass_start)s
    ORDER BY email_next_at LIMIT 1 FOR UPDATE SKIP LOCKED
"""
_SENT = """
    UPDATE bdg_budget_alerts SET email_sent_at = now(), email_attempts = email_attempts + 1,
        email_error = NULL
    WHERE key = %(key)s AND period = %(period)s AND percent = %(percent)s
"""
_FAILED = """
    UPDATE bdg_budget_alerts SET email_attempts = email_attempts + 1, email_error = %(error)s,
        email_next_at = now() + make_interval(secs => %(delay)s)
    WHERE key = %(key)s AND period = %(period)s AND percent = %(percent)s
"""


@dataclass(frozen=True)
class Alert:
    key: str
    period: str
    percent: int
    tenant: str
    cap_usd: Decimal
    spent_usd: Decimal

    def args(self) -> dict[str, Any]:
        return {"key": self.key, "period": self.period, "percent": self.percent}


async def queue_reached(conn: AsyncConnection[Any], alert: Alert) -> bool:
    """Owe the email of a cap reached, once per cap and period: every job the cap suspends
    (and every redelivery of their events) lands on the same row. True if this one was new."""
    cur = await conn.execute(
        _REACHED,
        {**alert.args(), "tenant": alert.tenant, "cap": alert.cap_usd, "spent": alert.spent_usd},
    )
    return cur.rowcount == 1


def backoff(attempts: int, first: float, longest: float) -> float:
    """Seconds before the next try after ``attempts`` failed ones."""
    delay: float = first * 2 ** max(attempts - 1, 0)
    return min(delay, longest)


class AlertOutbox:
    def __init__(
        self, pool: AsyncConnectionPool[Any], first_retry: float = 30.0, longest: float = 3600.0
    ) -> None:
        self.pool, self.first_retry, self.longest = pool, first_retry, longest

    async def unrecorded(self) -> list[Alert]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(_UNRECORDED)
            return [Alert(*row) for row in await cur.fetchall()]

    async def mark_recorded(self, alert: Alert) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(_RECORDED, alert.args())

    async def send_due(self, send: Callable[[Alert], Awaitable[None]], most: int = 50) -> int:
        """Send the alerts due, one at a time; return how many went out. Each is tried at most
        once a pass: one that failed is due again after its backoff, which a slow pass (or a
        short first retry) could otherwise reach before the pass ends."""
        async with self.pool.connection() as conn:
            cur = await conn.execute("SELECT clock_timestamp()")
            row = await cur.fetchone()
        assert row is not None
        sent = 0
        for _ in range(most):
            outcome = await self._send_one(send, row[0])
            if outcome is None:
                break
            sent += outcome
        return sent

    async def _send_one(
        self, send: Callable[[Alert], Awaitable[None]], pass_start: datetime
    ) -> bool | None:
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(_CLAIM, {"pass_start": pass_start})
            row = await cur.fetchone()
            if row is None:
                return None
            alert, attempts = Alert(*row[:6]), int(row[6])
            try:
                await send(alert)
            except Exception as error:
                delay = backoff(attempts + 1, self.first_retry, self.longest)
                log.warning(
                    "alert email %s %s failed, again in %.0fs: %s",
                    alert.key,
                    alert.period,
                    delay,
                    error,
                )
                await conn.execute(
                    _FAILED, {**alert.args(), "error": str(error)[:500], "delay": delay}
                )
                return False
            await conn.execute(_SENT, alert.args())
            return True
