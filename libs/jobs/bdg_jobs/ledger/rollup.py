"""The daily roll-up: settled spend per tenant, user, operation and UTC day into ``bdg_cost_daily``,
and the monthly caps it finds at 80% or more into the alerts outbox (``bdg_budget_alerts``).

One runner across replicas: a pass holds a transaction-scoped advisory lock and a replica that
cannot take it skips its pass (the holder does the work). A pass recomputes every day after the
mark (``bdg_cost_rollup_mark``) through today, so days missed while no runner ran are caught up
and today's row stays current; the mark then moves to the last day that closed ``grace`` ago (a
call settled just before midnight may commit just after it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from bdg_jobs.ledger.accounts import month_of

LOCK_KEY = 0x6264_675F_726F_6C6C  # "bdg_roll"
WARN_PERCENT = 80

_MARK = "SELECT rolled_through FROM bdg_cost_rollup_mark"
_FIRST_DAY = "SELECT min(settled_at AT TIME ZONE 'UTC')::date FROM bdg_budget_calls"
_ROLL = """
    INSERT INTO bdg_cost_daily AS d
        (tenant, user_id, operation, day, calls, prompt_tokens, completion_tokens, cost_usd)
    SELECT tenant, user_id, operation, (settled_at AT TIME ZONE 'UTC')::date, count(*),
           sum(prompt_tokens), sum(completion_tokens), sum(cost_usd)
    FROM bdg_budget_calls
    WHERE settled_at >= %(start)s AND settled_at < %(end)s
    GROUP BY 1, 2, 3, 4
    ON CONFLICT (tenant, day, user_id, operation) DO UPDATE SET
        calls = EXCLUDED.calls, prompt_tokens = EXCLUDED.prompt_tokens,
        completion_tokens = EXCLUDED.completion_tokens, cost_usd = EXCLUDED.cost_usd
"""
_SET_MARK = """
    INSERT INTO bdg_cost_rollup_mark (rolled_through) VALUES (%(day)s)
    ON CONFLICT (one) DO UPDATE SET rolled_through = EXCLUDED.rolled_through
"""
# Monthly caps (user and tenant keys) whose month's rolled-up spend reached the percentage.
_CROSSED = """
    INSERT INTO bdg_budget_alerts (key, period, percent, tenant, cap_usd, spent_usd)
    SELECT c.key, %(period)s, %(percent)s, c.tenant, c.cap_usd, sum(d.cost_usd)
    FROM bdg_budget_caps c
    JOIN bdg_cost_daily d ON d.tenant = c.tenant
        AND (c.key = 'tenant:' || d.tenant OR c.key = 'user:' || d.tenant || ':' || d.user_id)
    WHERE d.day >= %(month_start)s AND d.day < %(month_end)s AND c.cap_usd > 0
    GROUP BY c.key, c.tenant, c.cap_usd
    HAVING sum(d.cost_usd) * 100 >= c.cap_usd * %(percent)s
    ON CONFLICT DO NOTHING
"""


@dataclass(frozen=True)
class RollupPass:
    """What one pass did: the days it recomputed and how many new alerts it queued."""

    first_day: date
    last_day: date
    alerts: int


def month_bounds(day: date) -> tuple[date, date]:
    start = day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


class DailyRollup:
    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        grace: timedelta = timedelta(hours=1),
    ) -> None:
        self.pool, self.clock, self.grace = pool, clock, grace

    async def run_once(self) -> RollupPass | None:
        """One pass, or None when another replica holds the lock (it is doing this pass)."""
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (LOCK_KEY,))
            row = await cur.fetchone()
            if row is None or not row[0]:
                return None
            return await self._pass(conn)

    async def _pass(self, conn: AsyncConnection[Any]) -> RollupPass:
        now = self.clock()
        today = now.date()
        first = await self._first_day(conn, today)
        await conn.execute(
            _ROLL, {"start": _midnight(first), "end": _midnight(today + timedelta(days=1))}
        )
        closed = (now - self.grace).date() - timedelta(days=1)
        if closed >= first:
            await conn.execute(_SET_MARK, {"day": closed})
        month_start, month_end = month_bounds(today)
        cur = await conn.execute(
            _CROSSED,
            {
                "period": month_of(now),
                "percent": WARN_PERCENT,
                "month_start": month_start,
                "month_end": month_end,
            },
        )
        return RollupPass(first, today, max(cur.rowcount, 0))

    @staticmethod
    async def _first_day(conn: AsyncConnection[Any], today: date) -> date:
        cur = await conn.execute(_MARK)
        row = await cur.fetchone()
        if row is not None:
            marked: date = row[0]
            return min(marked + timedelta(days=1), today)
        cur = await conn.execute(_FIRST_DAY)
        row = await cur.fetchone()
        earliest: date | None = row[0] if row is not None else None
        return min(earliest, today) if earliest is not None else today
