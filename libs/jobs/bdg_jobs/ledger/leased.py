"""The ledger with leases: a process takes a share of a spender's budget in one durable commit
(a grant, ``lease_rules``) and serves reserves and releases from it in memory; settles are
written durably in groups, one transaction per batch (``group_commit``), and a settle returns
only once committed. An idle lease's share is given back after ``idle_seconds``, all of them on
``close``; a killed process's lease expires ``hold_seconds`` after its last write and
``expire`` (any process's) gives its share back.

Per call that is one durable commit (the settle) where ``PostgresLedger`` needs two, with no
share of the commit spent on the tenant's row lock for the reserve. The caps hold as before:
the accounts' ``reserved`` counts every lease in full, and a lease serves no more than its
share (``_Lease.available``: the share left minus what its reservations, settles in flight and
give-backs in flight hold).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from psycopg_pool import AsyncConnectionPool

from bdg_jobs.ledger import batch_sql, lease_sql
from bdg_jobs.ledger.accounts import Spender, month_of
from bdg_jobs.ledger.errors import BudgetExhaustedError
from bdg_jobs.ledger.group_commit import GroupCommit
from bdg_jobs.ledger.lease_batch import Spend, decide
from bdg_jobs.ledger.lease_rules import GiveBack, Grant, LeaseKey
from bdg_jobs.ledger.ledger import (
    DEFAULT_HOLD_SECONDS,
    PostgresLedger,
    Reservation,
    SettledCall,
    usd,
)
from bdg_jobs.ledger.transient import retrying_deadlocks

log = logging.getLogger(__name__)

_Op = Grant | Spend | GiveBack


@dataclass
class _Lease:
    key: LeaseKey
    remaining: Decimal = Decimal(0)  # the durable share not yet spent, as last committed
    held: Decimal = Decimal(0)
    granting: asyncio.Future[Any] | None = None
    granting_need: Decimal = Decimal(0)
    generation: int = 0  # bumped by every use: an idle check sees whether it was used since
    reservations: dict[uuid.UUID, Decimal] = field(default_factory=dict)

    def available(self) -> Decimal:
        return self.remaining - self.held

    def is_granting(self) -> bool:
        return self.granting is not None and not self.granting.done()


class LeasedLedger:
    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        hold_seconds: float = DEFAULT_HOLD_SECONDS,
        idle_seconds: float = 2.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.pool, self.hold_seconds, self.idle_seconds = pool, hold_seconds, idle_seconds
        self.clock = clock
        self._batches: GroupCommit[_Op] = GroupCommit(self._run)
        self._expiring = PostgresLedger(pool, hold_seconds, clock)
        self._leases: dict[tuple[Spender, str], _Lease] = {}
        self._holders: dict[uuid.UUID, _Lease] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    async def reserve(self, spender: Spender, amount: float | Decimal) -> Reservation:
        """Hold ``amount`` for a call, or raise BudgetExhaustedError (nothing held)."""
        wanted = usd(amount)
        try:
            return await self._reserve(spender, wanted)
        except BudgetExhaustedError:
            # A dead process's lease, or this one's idle shares, may be what stands in the way.
            if await self.expire() + await self._give_back_spare() == 0:
                raise
            return await self._reserve(spender, wanted)

    async def _reserve(self, spender: Spender, wanted: Decimal) -> Reservation:
        period = month_of(self.clock())
        lease = self._leases.get((spender, period))
        if lease is None:
            lease = _Lease(LeaseKey(uuid.uuid4(), spender, period))
            self._leases[(spender, period)] = lease
        while lease.available() < wanted:
            need = wanted - lease.available()
            if not lease.is_granting():
                lease.granting = asyncio.ensure_future(
                    self._batches.submit(Grant(lease.key, need, wanted))
                )
                lease.granting_need = need
            granting, asked = lease.granting, lease.granting_need
            assert granting is not None
            try:
                await asyncio.shield(granting)
            except BudgetExhaustedError:
                if wanted - lease.available() >= asked:
                    raise  # a smaller need than the one refused may still fit: ask for it
        lease.held += wanted
        lease.generation += 1
        reservation = Reservation(uuid.uuid4(), spender, period, wanted)
        lease.reservations[reservation.id] = wanted
        self._holders[reservation.id] = lease
        return reservation

    async def settle(self, reservation: Reservation, call: SettledCall) -> None:
        """The call was paid: its cost is spent, durably, when this returns."""
        lease = self._holders.get(reservation.id)
        # Not held (released, or settled already): recorded all the same (and refused by the
        # database for a second settle), against a lease with no share.
        key = lease.key if lease is not None else LeaseKey(uuid.uuid4(), *_whose(reservation))
        await self._batches.submit(Spend(key, reservation.id, call))

    async def release(self, reservation: Reservation) -> bool:
        """The call was not paid: its share is free again. False if it was not held."""
        lease = self._holders.pop(reservation.id, None)
        if lease is None:
            return False
        lease.held -= lease.reservations.pop(reservation.id)
        self._idle_soon(lease)
        return True

    async def expire(self) -> int:
        """Give back every lease (and reservation) past its expiry; return how many."""
        return await self._expiring.expire()

    async def close(self) -> None:
        """Give back the spare share of every lease (all of it once no call is in flight)."""
        await asyncio.gather(
            *(self._give_back(x, x.available()) for x in list(self._leases.values())),
            return_exceptions=True,
        )
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _give_back_spare(self) -> int:
        spare = [x for x in self._leases.values() if x.available() > 0 and not x.is_granting()]
        await asyncio.gather(*(self._give_back(x, x.available()) for x in spare))
        return len(spare)

    async def _give_back(self, lease: _Lease, amount: Decimal) -> None:
        if amount <= 0:
            return
        lease.held += amount  # out of reach of reserves until the batch is committed
        lease.generation += 1
        try:
            await self._batches.submit(GiveBack(lease.key, amount))
        except Exception:
            lease.held -= amount
            raise

    def _idle_soon(self, lease: _Lease) -> None:
        lease.generation += 1
        if lease.held == 0:
            loop = asyncio.get_running_loop()
            loop.call_later(self.idle_seconds, self._if_idle, lease, lease.generation)

    def _if_idle(self, lease: _Lease, generation: int) -> None:
        if lease.generation != generation or lease.held != 0 or lease.is_granting():
            return
        task = asyncio.ensure_future(self._give_back(lease, lease.available()))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("giving back an idle lease failed: %s", task.exception())

    async def _run(self, ops: list[_Op]) -> list[Any]:
        outcomes = await retrying_deadlocks(lambda: self._transaction(ops))
        for op, outcome in zip(ops, outcomes, strict=True):
            self._committed(op, outcome)
        return outcomes

    async def _transaction(self, ops: list[_Op]) -> list[Any]:
        """One transaction in two round trips (pipelined): lock leases and accounts, write."""
        tenants = {a: op.lease.spender.tenant for op in ops for a in op.lease.accounts()}
        accounts = sorted(tenants)
        leases = list({op.lease.id: op.lease for op in ops}.values())
        async with self.pool.connection() as conn, conn.pipeline() as pipe, conn.transaction():
            leasing = await lease_sql.lock(conn, [k.id for k in leases])
            locking = await batch_sql.lock(conn, accounts)
            await pipe.sync()
            remaining = await lease_sql.locked(leasing)
            balances = await batch_sql.locked(conn, locking, accounts, tenants)
            calls: list[dict[str, Any]] = []
            outcomes = [decide(op, balances, remaining, calls) for op in ops]
            await batch_sql.write_balances(conn, balances)
            await lease_sql.write(conn, leases, remaining, self.hold_seconds)
            await batch_sql.record_calls(conn, calls)
        return outcomes

    def _committed(self, op: _Op, outcome: Any) -> None:
        """The batch is durable: the process's leases learn what it did."""
        lease = self._leases.get((op.lease.spender, op.lease.period))
        if lease is None or lease.key.id != op.lease.id or isinstance(outcome, BaseException):
            return
        lease.remaining = outcome
        if isinstance(op, Spend):
            self._holders.pop(op.reservation_id, None)
            lease.held -= lease.reservations.pop(op.reservation_id, Decimal(0))
            self._idle_soon(lease)
        elif isinstance(op, GiveBack):
            lease.held -= op.amount
            if lease.remaining == 0 and lease.held == 0 and not lease.is_granting():
                del self._leases[(op.lease.spender, op.lease.period)]
        else:
            lease.generation += 1


def _whose(reservation: Reservation) -> tuple[Spender, str]:
    return reservation.spender, reservation.period
