"""What a tenant's settled model calls cost, grouped by operation, user, day (UTC) or job, for
the whole tenant or one job.

Read from the ledger's settled calls (``bdg_budget_calls``): the same rows the caps are held
with, so the totals are what the budget saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from psycopg import AsyncConnection, sql


class GroupBy(StrEnum):
    operation = "operation"
    user = "user"
    day = "day"
    job = "job"


_COLUMN = {
    GroupBy.operation: sql.SQL("operation"),
    GroupBy.user: sql.SQL("user_id"),
    GroupBy.day: sql.SQL("to_char(settled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
    GroupBy.job: sql.SQL("job_id"),
}
_QUERY = sql.SQL("""
    SELECT {column} AS key, count(*), sum(prompt_tokens), sum(completion_tokens), sum(cost_usd),
           count(*) FILTER (WHERE tokens_counted)
    FROM bdg_budget_calls
    WHERE tenant = %(tenant)s AND (%(job)s::text IS NULL OR job_id = %(job)s)
      AND (%(start)s::timestamptz IS NULL OR settled_at >= %(start)s)
      AND (%(end)s::timestamptz IS NULL OR settled_at < %(end)s)
    GROUP BY 1 ORDER BY 1
""")


@dataclass(frozen=True)
class CostRow:
    key: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal
    counted_calls: int = 0  # calls whose endpoint sent no usage: tokens counted here


async def costs(
    conn: AsyncConnection[Any],
    tenant: str,
    group_by: GroupBy,
    first: date | None = None,
    last: date | None = None,
    job: str | None = None,
) -> list[CostRow]:
    """Rows from day ``first`` to day ``last``, both included (UTC); of ``job``'s calls only
    when given (an indexing run's key is ``index:<repo id>``)."""
    args = {
        "tenant": tenant,
        "job": job,
        "start": first,
        "end": last + timedelta(days=1) if last is not None else None,
    }
    cur = await conn.execute(_QUERY.format(column=_COLUMN[group_by]), args)
    return [
        CostRow(str(k), int(n), int(p), int(c), Decimal(cost), int(counted))
        for k, n, p, c, cost, counted in await cur.fetchall()
    ]
