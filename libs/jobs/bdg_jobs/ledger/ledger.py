"""The ledger on PostgreSQL: reserve a call's worst case, settle its real cost, or release it.

The cap invariant is held by row locks: a batch of calls locks their accounts in one order
(key, period), checks ``spent + reserved + amount <= cap`` on each of a reservation's three
accounts as the batch left them and only then adds to ``reserved``, all in one transaction
(``batch_sql``, ``batch_rules``). Calls arriving while a batch runs wait for the next one
(``group_commit``): the tenant's hot row is locked once per batch, not once per call. A
reservation carries an expiry: a process killed between reserve and settle leaves one behind,
and the next call that would be refused first releases every expired reservation (``expire``),
so nothing stays stuck.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from psycopg_pool import AsyncConnectionPool

from bdg_jobs.ledger import batch_sql
from bdg_jobs.ledger.accounts import Spender, charged_accounts, month_of
from bdg_jobs.ledger.batch_rules import Account, Move, Reserve, Running, apply_move, apply_reserve
from bdg_jobs.ledger.errors import BudgetExhaustedError
from bdg_jobs.ledger.group_commit import GroupCommit
from bdg_jobs.ledger.transient import retrying_deadlocks

DEFAULT_HOLD_SECONDS = 900.0  # longer than any call with its retries

_EXPIRED = """
    SELECT id, tenant, user_id, job_id, period, amount_usd FROM bdg_budget_reservations
    WHERE expires_at < now() ORDER BY expires_at LIMIT 1000
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
    tokens_counted: bool = False  # no usage from the endpoint: counted here, flagged in costs


def usd(amount: float | Decimal) -> Decimal:
    """Money as an exact decimal (a float's shortest repr: 0.1 stays 0.1)."""
    return amount if isinstance(amount, Decimal) else Decimal(repr(float(amount)))


@dataclass(frozen=True)
class _Settle:
    reservation: Reservation
    call: SettledCall


@dataclass(frozen=True)
class _Release:
    reservation: Reservation


_Op = Reserve | _Settle | _Release


def _undo(outcome: Any) -> _Op | None:
    """A reservation whose caller was cancelled: give it back."""
    return _Release(outcome) if isinstance(outcome, Reservation) else None


class PostgresLedger:
    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        hold_seconds: float = DEFAULT_HOLD_SECONDS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.pool, self.hold_seconds, self.clock = pool, hold_seconds, clock
        self._batches: GroupCommit[_Op] = GroupCommit(self._run, _undo)

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
        op = Reserve(uuid.uuid4(), spender, month_of(self.clock()), amount)
        reservation: Reservation = await self._batches.submit(op)
        return reservation

    async def settle(self, reservation: Reservation, call: SettledCall) -> None:
        """The call was paid: its real cost becomes spent, its reservation goes (gone already
        if it expired: the money was spent all the same)."""
        await self._batches.submit(_Settle(reservation, call))

    async def release(self, reservation: Reservation) -> bool:
        """The call was not paid (it failed): give its reservation back. False if gone already."""
        released: bool = await self._batches.submit(_Release(reservation))
        return released

    async def expire(self) -> int:
        """Release every reservation past its expiry; return how many."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(_EXPIRED)
            expired = [
                Reservation(r[0], Spender(r[1], r[2], r[3]), r[4], r[5])
                for r in await cur.fetchall()
            ]
        return sum(await asyncio.gather(*(self.release(r) for r in expired)))

    async def _run(self, ops: list[_Op]) -> list[Any]:
        return await retrying_deadlocks(lambda: self._transaction(ops))

    async def _transaction(self, ops: list[_Op]) -> list[Any]:
        """One transaction in two round trips (pipelined): take and lock, then write."""
        tenants = {a: t for op in ops for a, t in _accounts_of(op)}
        accounts = sorted(tenants)
        ids = [op.reservation.id for op in ops if not isinstance(op, Reserve)]
        async with self.pool.connection() as conn, conn.pipeline() as pipe, conn.transaction():
            taking = await batch_sql.take(conn, ids)
            locking = await batch_sql.lock(conn, accounts)
            await pipe.sync()
            taken = await batch_sql.taken(taking)
            balances = await batch_sql.locked(conn, locking, accounts, tenants)
            outcomes: list[Any] = []
            holds: list[dict[str, Any]] = []
            calls: list[dict[str, Any]] = []
            for op in ops:
                outcomes.append(_decide(op, balances, taken, holds, calls))
            await batch_sql.write_balances(conn, balances)
            await batch_sql.hold(conn, holds, self.hold_seconds)
            await batch_sql.record_calls(conn, calls)
        return outcomes


def _accounts_of(op: _Op) -> list[tuple[Account, str]]:
    r = op if isinstance(op, Reserve) else op.reservation
    return [(a, r.spender.tenant) for a in charged_accounts(r.spender, r.period)]


def _decide(
    op: _Op,
    balances: dict[Account, Running],
    taken: dict[uuid.UUID, Decimal],
    holds: list[dict[str, Any]],
    calls: list[dict[str, Any]],
) -> Any:
    """Apply one op to the batch's balances; what its caller gets back."""
    if isinstance(op, Reserve):
        refused = apply_reserve(balances, op)
        if refused is not None:
            return refused
        s = op.spender
        holds.append(
            {
                "ids": op.id,
                "tenants": s.tenant,
                "users": s.user,
                "jobs": s.job_id,
                "periods": op.period,
                "amounts": op.amount,
            }
        )
        return Reservation(op.id, s, op.period, op.amount)
    if isinstance(op, _Settle):
        r, c = op.reservation, op.call
        release = taken.pop(r.id, Decimal(0))
        accounts = tuple(charged_accounts(r.spender, r.period))
        apply_move(balances, Move(accounts, release, c.cost_usd))
        calls.append(
            {
                "ids": r.id,
                "tenants": r.spender.tenant,
                "users": r.spender.user,
                "jobs": r.spender.job_id,
                "operations": c.operation,
                "models": c.model,
                "prompts": c.prompt_tokens,
                "completions": c.completion_tokens,
                "costs": c.cost_usd,
                "counted": c.tokens_counted,
            }
        )
        return None
    r = op.reservation
    held = taken.pop(r.id, None)
    if held is None:
        return False
    accounts = tuple(charged_accounts(r.spender, r.period))
    apply_move(balances, Move(accounts, held, Decimal(0)))
    return True
