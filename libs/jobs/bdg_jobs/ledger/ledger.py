"""The ledger on PostgreSQL: reserve a call's worst case, settle its real cost, or release it.

The cap invariant is held by row locks: a reservation locks the call's three accounts in one
order (``charged_accounts``), checks ``spent + reserved + amount <= cap`` on each and only then
adds to ``reserved``, all in one transaction. A reservation carries an expiry: a process killed
between reserve and settle leaves one behind, and the next call that would be refused first
releases every expired reservation (``expire``), so nothing stays stuck.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from bdg_jobs.ledger.accounts import Balance, Spender, charged_accounts, month_of
from bdg_jobs.ledger.errors import BudgetExhaustedError

DEFAULT_HOLD_SECONDS = 900.0  # longer than any call with its retries

_ENSURE = """
    INSERT INTO bdg_budget_accounts (key, period, tenant)
    SELECT k, p, %(tenant)s FROM unnest(%(keys)s::text[], %(periods)s::text[]) AS t(k, p)
    ON CONFLICT DO NOTHING
"""
_ACCOUNTS = "SELECT * FROM unnest(%(keys)s::text[], %(periods)s::text[])"
# One statement: the accounts locked in key order, checked, and the amount held only if every
# one allows it. Locks last for one statement, not for client round trips: a tenant's row is
# hot (every call of the tenant locks it).
_RESERVE_ONCE = f"""
    WITH locked AS (
        SELECT a.key, a.period, a.spent_usd, a.reserved_usd, c.cap_usd
        FROM bdg_budget_accounts a LEFT JOIN bdg_budget_caps c ON c.key = a.key
        WHERE (a.key, a.period) IN ({_ACCOUNTS})
        ORDER BY a.key, a.period
        FOR UPDATE OF a
    ), verdict AS (
        SELECT count(*) = 3
               AND bool_and(cap_usd IS NULL OR spent_usd + reserved_usd + %(amount)s <= cap_usd)
               AS ok
        FROM locked
    ), moved AS (
        UPDATE bdg_budget_accounts a SET reserved_usd = a.reserved_usd + %(amount)s
        FROM locked l, verdict v
        WHERE v.ok AND a.key = l.key AND a.period = l.period
    ), held AS (
        INSERT INTO bdg_budget_reservations
            (id, tenant, user_id, job_id, period, amount_usd, expires_at)
        SELECT %(id)s, %(tenant)s, %(user)s, %(job)s, %(period)s, %(amount)s,
               now() + make_interval(secs => %(hold)s)
        FROM verdict WHERE ok
    )
    SELECT l.key, l.period, l.spent_usd, l.reserved_usd, l.cap_usd, v.ok
    FROM locked l, verdict v
"""
# Locks in key order through the sub-select, then moves money between the two columns.
_MOVE = """
    UPDATE bdg_budget_accounts a
    SET reserved_usd = a.reserved_usd - %(release)s, spent_usd = a.spent_usd + %(spend)s
    FROM (
        SELECT key, period FROM bdg_budget_accounts
        WHERE (key, period) IN (SELECT * FROM unnest(%(keys)s::text[], %(periods)s::text[]))
        ORDER BY key, period FOR UPDATE
    ) l
    WHERE a.key = l.key AND a.period = l.period
"""
_TAKE = """
    DELETE FROM bdg_budget_reservations WHERE id = %(id)s
    RETURNING tenant, user_id, job_id, period, amount_usd
"""
_EXPIRED = """
    SELECT id FROM bdg_budget_reservations WHERE expires_at < now()
    ORDER BY expires_at LIMIT 1000
"""
# One statement, for the same reason as the reservation: the reservation taken (gone already if
# it expired: the money was spent all the same), its amount moved to spent, the call kept.
_SETTLE_ONCE = f"""
    WITH taken AS (
        DELETE FROM bdg_budget_reservations WHERE id = %(id)s RETURNING amount_usd
    ), locked AS (
        SELECT key, period FROM bdg_budget_accounts
        WHERE (key, period) IN ({_ACCOUNTS})
        ORDER BY key, period FOR UPDATE
    ), moved AS (
        UPDATE bdg_budget_accounts a
        SET reserved_usd = a.reserved_usd - coalesce((SELECT amount_usd FROM taken), 0),
            spent_usd = a.spent_usd + %(cost)s
        FROM locked l WHERE a.key = l.key AND a.period = l.period
    )
    INSERT INTO bdg_budget_calls (id, tenant, user_id, job_id, operation, model,
        prompt_tokens, completion_tokens, cost_usd)
    VALUES (%(id)s, %(tenant)s, %(user)s, %(job)s, %(operation)s, %(model)s,
        %(prompt)s, %(completion)s, %(cost)s)
"""


@dataclass(frozen=True)
class Reservation:
    id: uuid.UUID
    spender: Spender
    period: str
    amount: Decimal


@dataclass(frozen=True)
class SettledCall:
    """What a call really cost, for the ledger and GET /costs."""

    operation: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal


def usd(amount: float | Decimal) -> Decimal:
    """Money as an exact decimal (a float's shortest repr: 0.1 stays 0.1)."""
    return amount if isinstance(amount, Decimal) else Decimal(repr(float(amount)))


def _unzip(accounts: list[tuple[str, str]]) -> dict[str, list[str]]:
    return {"keys": [k for k, _ in accounts], "periods": [p for _, p in accounts]}


class PostgresLedger:
    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        hold_seconds: float = DEFAULT_HOLD_SECONDS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.pool, self.hold_seconds, self.clock = pool, hold_seconds, clock

    async def reserve(self, spender: Spender, amount: float | Decimal) -> Reservation:
        """Hold ``amount`` on the call's accounts, or raise BudgetExhaustedError (nothing held)."""
        wanted = usd(amount)
        try:
            return await self._reserve(spender, wanted)
        except BudgetExhaustedError:
            # Reservations of a dead process may be what stands in the way.
            if await self.expire() == 0:
                raise
            return await self._reserve(spender, wanted)

    async def _reserve(self, spender: Spender, amount: Decimal) -> Reservation:
        month = month_of(self.clock())
        accounts = charged_accounts(spender, month)
        reservation = Reservation(uuid.uuid4(), spender, month, amount)
        args = {
            **_unzip(accounts),
            "id": reservation.id,
            "tenant": spender.tenant,
            "user": spender.user,
            "job": spender.job_id,
            "period": month,
            "amount": amount,
            "hold": self.hold_seconds,
        }
        async with self.pool.connection() as conn:
            held, balances = await self._reserve_once(conn, args)
            if len(balances) < len(accounts):  # a first call: its accounts made, then again
                await conn.execute(_ENSURE, args)
                held, balances = await self._reserve_once(conn, args)
        if not held:
            refusing = next((b for b in balances if not b.allows(amount)), balances[0])
            cap = refusing.cap if refusing.cap is not None else Decimal(0)
            raise BudgetExhaustedError(refusing.key, refusing.period, cap, refusing.spent, amount)
        return reservation

    @staticmethod
    async def _reserve_once(
        conn: AsyncConnection[Any], args: dict[str, Any]
    ) -> tuple[bool, list[Balance]]:
        """Whether the amount is held, and the balances as they were before."""
        cur = await conn.execute(_RESERVE_ONCE, args)
        rows = await cur.fetchall()
        return bool(rows) and bool(rows[0][5]), [Balance(*row[:5]) for row in rows]

    async def settle(self, reservation: Reservation, call: SettledCall) -> None:
        """The call was paid: its real cost becomes spent, its reservation goes."""
        s = reservation.spender
        accounts = charged_accounts(s, reservation.period)
        async with self.pool.connection() as conn:
            await conn.execute(
                _SETTLE_ONCE,
                {
                    **_unzip(accounts),
                    "id": reservation.id,
                    "tenant": s.tenant,
                    "user": s.user,
                    "job": s.job_id,
                    "operation": call.operation,
                    "model": call.model,
                    "prompt": call.prompt_tokens,
                    "completion": call.completion_tokens,
                    "cost": call.cost_usd,
                },
            )

    async def release(self, reservation_id: uuid.UUID) -> bool:
        """The call was not paid (it failed): give its reservation back. False if gone already."""
        async with self.pool.connection() as conn, conn.transaction():
            return await self._release(conn, reservation_id)

    async def expire(self) -> int:
        """Release every reservation past its expiry; return how many."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(_EXPIRED)
            ids = [row[0] for row in await cur.fetchall()]
        released = 0
        for reservation_id in ids:
            released += await self.release(reservation_id)
        return released

    async def _release(self, conn: AsyncConnection[Any], reservation_id: uuid.UUID) -> bool:
        cur = await conn.execute(_TAKE, {"id": reservation_id})
        row = await cur.fetchone()
        if row is None:
            return False
        tenant, user, job, period, amount = row
        accounts = charged_accounts(Spender(tenant, user, job), period)
        await conn.execute(_MOVE, {**_unzip(accounts), "release": amount, "spend": 0})
        return True
