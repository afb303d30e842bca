"""The budget ledger on real PostgreSQL: caps held under concurrency, nothing left reserved."""

from __future__ import annotations

import asyncio
import secrets
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg_pool import AsyncConnectionPool

from bdg_jobs.ledger.accounts import Scope, Spender
from bdg_jobs.ledger.caps import BudgetCaps
from bdg_jobs.ledger.errors import BudgetExhaustedError
from bdg_jobs.ledger.ledger import PostgresLedger, SettledCall
from tests.conftest import Servers, create_database, drop_database
from tests.waiting import eventually


@pytest.fixture(scope="module")
def ledger_db(servers: Servers) -> Iterator[str]:
    url = create_database(servers)
    yield url
    drop_database(servers, url)


async def open_pool(url: str, size: int = 8) -> AsyncConnectionPool[Any]:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url, min_size=1, max_size=size, open=False, kwargs={"autocommit": True}
    )
    await pool.open()
    return pool


@pytest.fixture
async def pool(ledger_db: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    p = await open_pool(ledger_db)
    yield p
    await p.close()


def call(cost: Decimal) -> SettledCall:
    return SettledCall("plan", "gpt-4o", 100, 50, cost)


async def rows(pool: AsyncConnectionPool[Any], query: str, *args: Any) -> list[tuple[Any, ...]]:
    async with pool.connection() as conn:
        cur = await conn.execute(query, args)
        return await cur.fetchall()


def tenant_name() -> str:
    return "t" + secrets.token_hex(5)


async def test_a_call_past_a_cap_is_refused_and_goes_through_once_raised(
    pool: AsyncConnectionPool[Any],
) -> None:
    tenant = tenant_name()
    ledger, caps = PostgresLedger(pool), BudgetCaps(pool)
    who = Spender(tenant, "ann", "job-1")
    await caps.set_cap(Scope.tenant, tenant, "", Decimal("1.00"))
    first = await ledger.reserve(who, Decimal("0.70"))
    await ledger.settle(first, call(Decimal("0.60")))
    with pytest.raises(BudgetExhaustedError, match=f"tenant:{tenant}") as refused:
        await ledger.reserve(who, Decimal("0.50"))
    assert refused.value.spent == Decimal("0.60")
    await caps.set_cap(Scope.tenant, tenant, "", Decimal("2.00"))
    second = await ledger.reserve(who, Decimal("0.50"))
    await ledger.release(second)
    month = ledger.clock().strftime("%Y-%m")
    usage = await caps.usage(Scope.tenant, tenant, "", month)
    assert (usage.spent_usd, usage.reserved_usd) == (Decimal("0.60"), Decimal(0))


async def test_job_and_user_caps_are_each_enforced(pool: AsyncConnectionPool[Any]) -> None:
    tenant = tenant_name()
    ledger, caps = PostgresLedger(pool), BudgetCaps(pool)
    await caps.set_cap(Scope.job, tenant, "j1", Decimal("0.10"))
    await caps.set_cap(Scope.user, tenant, "bob", Decimal("0.30"))
    with pytest.raises(BudgetExhaustedError, match=f"job:{tenant}:j1"):
        await ledger.reserve(Spender(tenant, "ann", "j1"), Decimal("0.11"))
    await ledger.reserve(Spender(tenant, "bob", "j2"), Decimal("0.20"))
    with pytest.raises(BudgetExhaustedError, match=f"user:{tenant}:bob"):
        await ledger.reserve(Spender(tenant, "bob", "j3"), Decimal("0.20"))
    # Another user of the tenant is not held by bob's cap.
    await ledger.reserve(Spender(tenant, "ann", "j3"), Decimal("0.20"))


@dataclass(frozen=True)
class Caller:
    user: int
    job: int
    worst: Decimal
    paid_share: Decimal  # of the worst case, what the call really cost
    outcome: str  # settle | fail | die


callers = st.builds(
    Caller,
    st.integers(0, 2),
    st.integers(0, 3),
    st.decimals(Decimal("0.01"), Decimal("0.40"), places=2),
    st.decimals(Decimal("0"), Decimal("1"), places=2),
    st.sampled_from(["settle", "settle", "fail", "die"]),
)
caps_ = st.one_of(st.none(), st.decimals(Decimal("0"), Decimal("1.5"), places=2))


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    many=st.lists(callers, min_size=16, max_size=48),
    tenant_cap=caps_,
    user_caps=st.lists(caps_, min_size=3, max_size=3),
    job_caps=st.lists(caps_, min_size=4, max_size=4),
)
def test_concurrent_callers_never_pass_a_cap_and_leave_nothing_reserved(
    ledger_db: str,
    many: list[Caller],
    tenant_cap: Decimal | None,
    user_caps: list[Decimal | None],
    job_caps: list[Decimal | None],
) -> None:
    asyncio.run(_run_callers(ledger_db, many, tenant_cap, user_caps, job_caps))


async def _run_callers(
    url: str,
    many: list[Caller],
    tenant_cap: Decimal | None,
    user_caps: list[Decimal | None],
    job_caps: list[Decimal | None],
) -> None:
    tenant = tenant_name()
    pool = await open_pool(url, size=16)
    try:
        ledger = PostgresLedger(pool)
        dying = PostgresLedger(pool, hold_seconds=0)  # a dead process's: expired at once
        caps = BudgetCaps(pool)
        if tenant_cap is not None:
            await caps.set_cap(Scope.tenant, tenant, "", tenant_cap)
        for i, cap in enumerate(user_caps):
            if cap is not None:
                await caps.set_cap(Scope.user, tenant, f"u{i}", cap)
        for i, cap in enumerate(job_caps):
            if cap is not None:
                await caps.set_cap(Scope.job, tenant, f"j{i}", cap)
        paid: list[Decimal] = []
        # Accounts made beforehand: the callers then race on the cap checks alone.
        for user in range(3):
            for job in range(4):
                warm = await ledger.reserve(Spender(tenant, f"u{user}", f"j{job}"), Decimal(0))
                await ledger.release(warm)

        async def one(c: Caller) -> None:
            who = Spender(tenant, f"u{c.user}", f"j{c.job}")
            try:
                held = await (dying if c.outcome == "die" else ledger).reserve(who, c.worst)
            except BudgetExhaustedError:
                return
            if c.outcome == "settle":
                cost = (c.worst * c.paid_share).quantize(Decimal("0.0001"))
                await ledger.settle(held, call(cost))
                paid.append(cost)
            elif c.outcome == "fail":
                await ledger.release(held)

        await asyncio.gather(*(one(c) for c in many))
        await ledger.expire()

        balances = await rows(
            pool,
            "SELECT a.key, a.spent_usd, a.reserved_usd, c.cap_usd FROM bdg_budget_accounts a "
            "LEFT JOIN bdg_budget_caps c ON c.key = a.key WHERE a.tenant = %s",
            tenant,
        )
        for key, spent, reserved, cap in balances:
            assert cap is None or spent <= cap, f"{key} spent {spent} over its cap {cap}"
            assert reserved == 0, f"{key} still holds {reserved}"
        assert (
            await rows(pool, "SELECT id FROM bdg_budget_reservations WHERE tenant = %s", tenant)
            == []
        )
        # No account row at all when every call was refused (the refusal wrote nothing).
        tenant_spent = sum((s for k, s, _, _ in balances if k == f"tenant:{tenant}"), Decimal(0))
        recorded = await rows(
            pool,
            "SELECT coalesce(sum(cost_usd), 0) FROM bdg_budget_calls WHERE tenant = %s",
            tenant,
        )
        assert tenant_spent == sum(paid, Decimal(0)) == recorded[0][0]
    finally:
        await pool.close()


KILLED = """
import asyncio, os, signal, sys
from decimal import Decimal
from psycopg_pool import AsyncConnectionPool
from bdg_jobs.ledger.accounts import Spender
from bdg_jobs.ledger.ledger import PostgresLedger

async def main() -> None:
    pool = AsyncConnectionPool(sys.argv[1], open=False, kwargs={"autocommit": True})
    await pool.open()
    ledger = PostgresLedger(pool, hold_seconds=1)
    await ledger.reserve(Spender(sys.argv[2], "u", "j"), Decimal("0.9"))
    os.kill(os.getpid(), signal.SIGKILL)  # between reserve and settle

asyncio.run(main())
"""


async def test_kill_9_between_reserve_and_settle_leaves_nothing_stuck(
    ledger_db: str, pool: AsyncConnectionPool[Any]
) -> None:
    tenant = tenant_name()
    await BudgetCaps(pool).set_cap(Scope.tenant, tenant, "", Decimal("1.00"))
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", KILLED, ledger_db, tenant)
    assert await asyncio.wait_for(proc.wait(), 60) == -9
    held = await rows(
        pool, "SELECT amount_usd FROM bdg_budget_reservations WHERE tenant = %s", tenant
    )
    assert held == [(Decimal("0.9"),)]
    ledger = PostgresLedger(pool)
    who = Spender(tenant, "u", "j2")

    async def reserved_once_expired() -> bool:
        try:
            await ledger.reserve(who, Decimal("0.5"))
        except BudgetExhaustedError:
            return False
        return True

    assert await eventually(
        reserved_once_expired, timeout=20, what="the dead reservation to expire"
    )
    left = await rows(
        pool, "SELECT amount_usd FROM bdg_budget_reservations WHERE tenant = %s", tenant
    )
    assert left == [(Decimal("0.5"),)]


async def test_many_callers_at_once_get_exactly_what_the_cap_holds(ledger_db: str) -> None:
    tenant = tenant_name()
    pool = await open_pool(ledger_db, size=16)
    try:
        ledger = PostgresLedger(pool)
        await BudgetCaps(pool).set_cap(Scope.tenant, tenant, "", Decimal("1.00"))
        who = Spender(tenant, "u", "j")
        warm = await ledger.reserve(who, Decimal(0))
        await ledger.release(warm)

        async def one() -> bool:
            try:
                await ledger.reserve(who, Decimal("0.10"))
            except BudgetExhaustedError:
                return False
            return True

        granted = await asyncio.gather(*(one() for _ in range(64)))
        assert sum(granted) == 10
    finally:
        await pool.close()


async def test_a_reserve_whose_caller_is_cancelled_is_given_back(
    pool: AsyncConnectionPool[Any],
) -> None:
    tenant = tenant_name()
    ledger = PostgresLedger(pool)
    who = Spender(tenant, "ann", "j1")
    warm = await ledger.reserve(who, Decimal(0))  # accounts made: the next batch only holds
    await ledger.release(warm)
    asking = asyncio.create_task(ledger.reserve(who, Decimal("0.25")))
    await asyncio.sleep(0)  # queued for the batch, whose transaction has not run yet
    asking.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asking
    # Batches run in order: once a later call is back, the cancelled one's batch has committed.
    later = await ledger.reserve(who, Decimal(0))
    await ledger.release(later)

    async def given_back() -> bool:
        held = await rows(pool, "SELECT id FROM bdg_budget_reservations WHERE tenant = %s", tenant)
        reserved = await rows(
            pool, "SELECT sum(reserved_usd) FROM bdg_budget_accounts WHERE tenant = %s", tenant
        )
        return held == [] and reserved == [(Decimal(0),)]

    await eventually(given_back, 10, "the cancelled caller's reservation released")


async def test_one_call_that_fails_in_the_database_fails_alone(
    pool: AsyncConnectionPool[Any],
) -> None:
    tenant = tenant_name()
    ledger = PostgresLedger(pool)
    first = await ledger.reserve(Spender(tenant, "ann", "j1"), Decimal("0.10"))
    # Text PostgreSQL cannot store (a NUL): that settle fails, in the same batch as a reserve.
    bad = SettledCall("plan\x00", "gpt-4o", 1, 1, Decimal("0.05"))
    settled, held = await asyncio.gather(
        ledger.settle(first, bad),
        ledger.reserve(Spender(tenant, "bob", "j2"), Decimal("0.20")),
        return_exceptions=True,
    )
    assert isinstance(settled, Exception)
    assert "NUL" in str(settled)
    assert not isinstance(held, BaseException)
    assert held.amount == Decimal("0.20")
    reserved = await rows(
        pool,
        "SELECT key, reserved_usd FROM bdg_budget_accounts WHERE tenant = %s AND key LIKE 'job:%%'"
        " ORDER BY key",
        tenant,
    )
    # ann's reservation stands (its settle failed); bob's is held.
    assert reserved == [
        (f"job:{tenant}:j1", Decimal("0.10")),
        (f"job:{tenant}:j2", Decimal("0.20")),
    ]
