"""Setting caps and reading what an account has spent (the gateway's budget routes)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psycopg_pool import AsyncConnectionPool

from bdg_jobs.ledger.accounts import JOB_PERIOD, Scope, cap_key

_SET = """
    INSERT INTO bdg_budget_caps (key, tenant, cap_usd) VALUES (%(key)s, %(tenant)s, %(cap)s)
    ON CONFLICT (key) DO UPDATE SET cap_usd = EXCLUDED.cap_usd, updated_at = now()
"""
_READ = """
    SELECT c.cap_usd, coalesce(a.spent_usd, 0), coalesce(a.reserved_usd, 0)
    FROM (SELECT %(key)s::text AS key) k
    LEFT JOIN bdg_budget_caps c ON c.key = k.key
    LEFT JOIN bdg_budget_accounts a ON a.key = k.key AND a.period = %(period)s
"""


@dataclass(frozen=True)
class Usage:
    scope: Scope
    subject: str
    period: str
    cap_usd: Decimal | None
    spent_usd: Decimal
    reserved_usd: Decimal


class BudgetCaps:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self.pool = pool

    async def set_cap(self, scope: Scope, tenant: str, subject: str, cap: Decimal) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                _SET, {"key": cap_key(scope, tenant, subject), "tenant": tenant, "cap": cap}
            )

    async def usage(self, scope: Scope, tenant: str, subject: str, month: str) -> Usage:
        period = JOB_PERIOD if scope is Scope.job else month
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                _READ, {"key": cap_key(scope, tenant, subject), "period": period}
            )
            row = await cur.fetchone()
        assert row is not None  # the left join always yields one row
        cap, spent, reserved = row
        return Usage(scope, subject, period, cap, Decimal(spent), Decimal(reserved))
