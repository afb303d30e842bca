"""One ledger batch in one PostgreSQL transaction: the reservations being settled or released
taken, the batch's accounts locked (in key order, as every ledger transaction locks them),
the batch decided (``batch_rules``), the balances and the new rows written. The statements
are sent pipelined, two round trips in all: reads first, writes and commit after.

A tenant's account row is hot (every call of the tenant locks it); one transaction for many
calls holds it once, where a transaction per call queued on it once per call.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection, AsyncCursor

from bdg_jobs.ledger.accounts import Balance
from bdg_jobs.ledger.batch_rules import Account, Running, running_of

ENSURE = """
    INSERT INTO bdg_budget_accounts (key, period, tenant)
    SELECT k, p, t
    FROM unnest(%(keys)s::text[], %(periods)s::text[], %(tenants)s::text[]) AS n(k, p, t)
    ORDER BY k, p
    ON CONFLICT DO NOTHING
"""
_TAKE = """
    DELETE FROM bdg_budget_reservations WHERE id = ANY(%(ids)s)
    RETURNING id, amount_usd
"""
_LOCK = """
    SELECT a.key, a.period, a.spent_usd, a.reserved_usd, c.cap_usd
    FROM bdg_budget_accounts a LEFT JOIN bdg_budget_caps c ON c.key = a.key
    WHERE (a.key, a.period) IN (SELECT * FROM unnest(%(keys)s::text[], %(periods)s::text[]))
    ORDER BY a.key, a.period
    FOR UPDATE OF a
"""
_WRITE_BALANCES = """
    UPDATE bdg_budget_accounts a SET spent_usd = n.spent, reserved_usd = n.reserved
    FROM unnest(%(keys)s::text[], %(periods)s::text[], %(spent)s::numeric[],
                %(reserved)s::numeric[]) AS n(key, period, spent, reserved)
    WHERE a.key = n.key AND a.period = n.period
"""
_HOLD = """
    INSERT INTO bdg_budget_reservations
        (id, tenant, user_id, job_id, period, amount_usd, expires_at)
    SELECT id, tenant, user_id, job_id, period, amount, now() + make_interval(secs => %(hold)s)
    FROM unnest(%(ids)s::uuid[], %(tenants)s::text[], %(users)s::text[], %(jobs)s::text[],
                %(periods)s::text[], %(amounts)s::numeric[])
        AS t(id, tenant, user_id, job_id, period, amount)
"""
_CALLS = """
    INSERT INTO bdg_budget_calls (id, tenant, user_id, job_id, operation, model,
        prompt_tokens, completion_tokens, cost_usd, tokens_counted)
    SELECT * FROM unnest(%(ids)s::uuid[], %(tenants)s::text[], %(users)s::text[],
        %(jobs)s::text[], %(operations)s::text[], %(models)s::text[], %(prompts)s::int[],
        %(completions)s::int[], %(costs)s::numeric[], %(counted)s::bool[])
"""


def unzip(accounts: list[Account]) -> dict[str, list[str]]:
    return {"keys": [k for k, _ in accounts], "periods": [p for _, p in accounts]}


async def take(conn: AsyncConnection[Any], ids: list[uuid.UUID]) -> AsyncCursor[Any] | None:
    """Queue the removal of the reservations settled or released (read with ``taken``)."""
    return await conn.execute(_TAKE, {"ids": ids}) if ids else None


async def taken(cursor: AsyncCursor[Any] | None) -> dict[uuid.UUID, Decimal]:
    """The amount of each reservation removed (one gone already is not there)."""
    return {} if cursor is None else {r[0]: r[1] for r in await cursor.fetchall()}


async def lock(conn: AsyncConnection[Any], accounts: list[Account]) -> AsyncCursor[Any]:
    """Queue the lock of the batch's accounts (read with ``locked``)."""
    return await conn.execute(_LOCK, unzip(accounts))


async def locked(
    conn: AsyncConnection[Any],
    cursor: AsyncCursor[Any],
    accounts: list[Account],
    tenants: dict[Account, str],
) -> dict[Account, Running]:
    """The accounts' balances, locked; accounts seen for the first time are made, then locked."""
    found = {(r[0], r[1]): running_of(Balance(*r)) for r in await cursor.fetchall()}
    if len(found) < len(accounts):
        missing = [a for a in accounts if a not in found]
        await conn.execute(ENSURE, {**unzip(missing), "tenants": [tenants[a] for a in missing]})
        cur = await conn.execute(_LOCK, unzip(accounts))
        found = {(r[0], r[1]): running_of(Balance(*r)) for r in await cur.fetchall()}
    return found


async def write_balances(conn: AsyncConnection[Any], balances: dict[Account, Running]) -> None:
    accounts = sorted(balances)
    await conn.execute(
        _WRITE_BALANCES,
        {
            **unzip(accounts),
            "spent": [balances[a].spent for a in accounts],
            "reserved": [balances[a].reserved for a in accounts],
        },
    )


async def hold(conn: AsyncConnection[Any], rows: list[dict[str, Any]], hold: float) -> None:
    if rows:
        await conn.execute(_HOLD, {**_columns(rows), "hold": hold})


async def record_calls(conn: AsyncConnection[Any], rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(_CALLS, _columns(rows))


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {name: [r[name] for r in rows] for name in rows[0]}
