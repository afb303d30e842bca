"""Lease rows in a ledger batch: locked first (before the accounts, the order every ledger
transaction takes: reservations, then accounts in key order), written after the batch is
decided. A lease is a row of ``bdg_budget_reservations``, so ``PostgresLedger.expire`` gives
back the share of a lease whose process died, as it does a reservation's.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection, AsyncCursor

from bdg_jobs.ledger.lease_rules import LeaseKey

_LOCK = """
    SELECT id, amount_usd FROM bdg_budget_reservations WHERE id = ANY(%(ids)s)
    ORDER BY id FOR UPDATE
"""
# Every write renews the expiry: a lease in use never expires under its process.
_UPSERT = """
    INSERT INTO bdg_budget_reservations
        (id, tenant, user_id, job_id, period, amount_usd, expires_at)
    SELECT id, tenant, user_id, job_id, period, amount, now() + make_interval(secs => %(hold)s)
    FROM unnest(%(ids)s::uuid[], %(tenants)s::text[], %(users)s::text[], %(jobs)s::text[],
                %(periods)s::text[], %(amounts)s::numeric[])
        AS t(id, tenant, user_id, job_id, period, amount)
    ON CONFLICT (id) DO UPDATE
        SET amount_usd = EXCLUDED.amount_usd, expires_at = EXCLUDED.expires_at
"""
_DELETE = "DELETE FROM bdg_budget_reservations WHERE id = ANY(%(ids)s)"


async def lock(conn: AsyncConnection[Any], ids: list[uuid.UUID]) -> AsyncCursor[Any]:
    """Queue the lock of the batch's lease rows (read with ``locked``)."""
    return await conn.execute(_LOCK, {"ids": sorted(ids)})


async def locked(cursor: AsyncCursor[Any]) -> dict[uuid.UUID, Decimal]:
    """Each lease's remaining share; a lease with no row (never granted, or expired and given
    back by another process) is not there."""
    return {r[0]: Decimal(r[1]) for r in await cursor.fetchall()}


async def write(
    conn: AsyncConnection[Any],
    leases: list[LeaseKey],
    remaining: dict[uuid.UUID, Decimal],
    hold_seconds: float,
) -> None:
    """Store the remaining share of each lease of the batch; a lease with none left goes."""
    kept = [k for k in leases if remaining.get(k.id, Decimal(0)) > 0]
    gone = [k.id for k in leases if k.id in remaining and remaining[k.id] <= 0]
    if kept:
        await conn.execute(
            _UPSERT,
            {
                "ids": [k.id for k in kept],
                "tenants": [k.spender.tenant for k in kept],
                "users": [k.spender.user for k in kept],
                "jobs": [k.spender.job_id for k in kept],
                "periods": [k.period for k in kept],
                "amounts": [remaining[k.id] for k in kept],
                "hold": hold_seconds,
            },
        )
    if gone:
        await conn.execute(_DELETE, {"ids": gone})
