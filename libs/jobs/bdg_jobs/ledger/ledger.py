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
_LOCK = """
    SELECT a.key, a.period, a.spent_usd, a.reserved_usd, c.cap_usd
    FROM bdg_budget_accounts a LEFT JOIN bdg_budget_caps c ON c.key = a.key
    WHERE (a.key, a.period) IN (SELECT * FROM unnest(%(keys)s::text[], %(periods)s::text[]))
    ORDER BY a.key, a.period
    FOR UPDATE OF a
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
_RESERVE = """
    INSERT INTO bdg_budget_reservations
        (id, tenant, user_id, job_id, period, amount_usd, expires_at)
    VALUES (%(id)s, %(tenant)s, %(user)s, %(job)s, %(period)s, %(amount)s,
            now() + make_interval(secs => %(hold)s))
"""
_TAKE = """
    DELETE FROM bdg_budget_reservations WHERE id = %(id)s
    RETURNING tenant, user_id, job_id, period, amount_usd
"""
_EXPIRED = """
    SELECT id FROM bdg_budget_reservations WHERE expires_at < now()
    ORDER BY expires_at LIMIT 1000
"""
_CALL = """
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
        args = {"tenant": spender.tenant, **_unzip(accounts)}
        reservation = Reservation(uuid.uuid4(), spender, month, amount)
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(_ENSURE, args)
            cur = await conn.execute(_LOCK, args)
            for row in await cur.fetchall():
                balance = Balance(*row)
                if not balance.allows(amount):
                    cap = balance.cap if balance.cap is not None else Decimal(0)
                    raise BudgetExhaustedError(
                        balance.key, balance.period, cap, balance.spent, amount
                    )
            await conn.execute(_MOVE, {**args, "release": -amount, "spend": 0})
            await conn.execute(
                _RESERVE,
                {
                    "id": reservation.id,
                    "tenant": spender.tenant,
                    "user": spender.user,
                    "job": spender.job_id,
                    "period": month,
                    "amount": amount,
                    "hold": self.hold_seconds,
                },
            )
        return reservation

    async def settle(self, reservation: Reservation, call: SettledCall) -> None:
        """The call was paid: its real cost becomes spent, its reservation goes."""
        async with self.pool.connection() as conn, conn.transaction():
            held = await self._take(conn, reservation.id)
            # Expired and released meanwhile: the money was spent all the same.
            release = held if held is not None else Decimal(0)
            accounts = charged_accounts(reservation.spender, reservation.period)
            await conn.execute(
                _MOVE, {**_unzip(accounts), "release": release, "spend": call.cost_usd}
            )
            s = reservation.spender
            await conn.execute(
                _CALL,
                {
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

    async def _take(self, conn: AsyncConnection[Any], reservation_id: uuid.UUID) -> Decimal | None:
        cur = await conn.execute(_TAKE, {"id": reservation_id})
        row = await cur.fetchone()
        return None if row is None else Decimal(row[4])

    async def _release(self, conn: AsyncConnection[Any], reservation_id: uuid.UUID) -> bool:
        cur = await conn.execute(_TAKE, {"id": reservation_id})
        row = await cur.fetchone()
        if row is None:
            return False
        tenant, user, job, period, amount = row
        accounts = charged_accounts(Spender(tenant, user, job), period)
        await conn.execute(_MOVE, {**_unzip(accounts), "release": amount, "spend": 0})
        return True
