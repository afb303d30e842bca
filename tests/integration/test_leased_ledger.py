"""The leased ledger on real PostgreSQL: caps held by leases across several processes, a settle
durable once acknowledged, idle and dead leases given back."""

from __future__ import annotations

import asyncio
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
from bdg_jobs.ledger.leased import LeasedLedger
from tests.conftest import Servers, create_database, drop_database
from tests.integration.test_budget_ledger import call, open_pool, rows, tenant_name
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def leased_db(servers: Servers) -> Iterator[str]:
    url = create_database(servers)
    yield url
    drop_database(servers, url)


@pytest.fixture
async def pool(leased_db: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    p = await open_pool(leased_db)
    yield p
    await p.close()


async def usage(pool: AsyncConnectionPool[Any], tenant: str, month: str) -> tuple[Any, ...]:
    u = await BudgetCaps(pool).usage(Scope.tenant, tenant, "", month)
    return u.spent_usd, u.reserved_usd


async def test_a_call_past_a_cap_is_refused_and_goes_through_once_raised(
    pool: AsyncConnectionPool[Any],
) -> None:
    tenant = tenant_name()
    ledger = LeasedLedger(pool)
    who = Spender(tenant, "ann", "job-1")
    await BudgetCaps(pool).set_cap(Scope.tenant, tenant, "", Decimal("1.00"))
    first = await ledger.reserve(who, Decimal("0.70"))
    await ledger.settle(first, call(Decimal("0.60")))
    with pytest.raises(BudgetExhaustedError, match=f"tenant:{tenant}") as refused:
        await ledger.reserve(who, Decimal("0.50"))
    assert refused.value.spent == Decimal("0.60")
    await BudgetCaps(pool).set_cap(Scope.tenant, tenant, "", Decimal("2.00"))
    second = await ledger.reserve(who, Decimal("0.50"))
    assert await ledger.release(second)
    assert not await ledger.release(second)  # given back once only
    month = ledger.clock().strftime("%Y-%m")
    spent, reserved = await usage(pool, tenant, month)
    assert spent == Decimal("0.60")
    assert reserved > 0
    await ledger.close()
    assert await usage(pool, tenant, month) == (Decimal("0.60"), Decimal(0))
    assert (
        await rows(pool, "SELECT id FROM bdg_budget_reservations WHERE tenant = %s", tenant) == []
    )


async def test_an_acknowledged_settle_is_durable_and_an_idle_lease_goes_back(
    pool: AsyncConnectionPool[Any],
) -> None:
    tenant = tenant_name()
    ledger = LeasedLedger(pool, idle_seconds=0.2)
    held = await ledger.reserve(Spender(tenant, "ann", "j1"), Decimal("0.01"))
    await ledger.settle(held, call(Decimal("0.004")))
    # Read on another connection right after the acknowledgement: committed, not in memory.
    recorded = await rows(pool, "SELECT cost_usd FROM bdg_budget_calls WHERE tenant = %s", tenant)
    assert recorded == [(Decimal("0.004"),)]
    month = ledger.clock().strftime("%Y-%m")
    assert (await usage(pool, tenant, month))[0] == Decimal("0.004")

    async def given_back() -> bool:
        return await usage(pool, tenant, month) == (Decimal("0.004"), Decimal(0))

    assert await eventually(given_back, 20, "the idle lease's share given back")
    assert (
        await rows(pool, "SELECT id FROM bdg_budget_reservations WHERE tenant = %s", tenant) == []
    )


async def test_many_callers_of_one_process_get_exactly_what_the_cap_holds(leased_db: str) -> None:
    tenant = tenant_name()
    pool = await open_pool(leased_db, size=16)
    try:
        ledger = LeasedLedger(pool)
        await BudgetCaps(pool).set_cap(Scope.tenant, tenant, "", Decimal("1.00"))
        who = Spender(tenant, "u", "j")

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


async def test_one_settle_that_fails_in_the_database_fails_alone(
    pool: AsyncConnectionPool[Any],
) -> None:
    tenant = tenant_name()
    ledger = LeasedLedger(pool)
    ann = await ledger.reserve(Spender(tenant, "ann", "j1"), Decimal("0.10"))
    bob = await ledger.reserve(Spender(tenant, "bob", "j2"), Decimal("0.20"))
    bad = call(Decimal("0.05")).__class__("plan\x00", "gpt-4o", 1, 1, Decimal("0.05"))
    failed, settled = await asyncio.gather(
        ledger.settle(ann, bad), ledger.settle(bob, call(Decimal("0.15"))), return_exceptions=True
    )
    assert isinstance(failed, Exception)
    assert "NUL" in str(failed)
    assert settled is None
    assert await rows(pool, "SELECT cost_usd FROM bdg_budget_calls WHERE tenant = %s", tenant) == [
        (Decimal("0.15"),)
    ]
    # ann's reservation stands (its settle failed) until released.
    assert await ledger.release(ann)
    await ledger.close()
    month = ledger.clock().strftime("%Y-%m")
    assert await usage(pool, tenant, month) == (Decimal("0.15"), Decimal(0))


KILLED = """
import asyncio, os, signal, sys
from decimal import Decimal
from psycopg_pool import AsyncConnectionPool
from bdg_jobs.ledger.accounts import Spender
from bdg_jobs.ledger.leased import LeasedLedger
from bdg_jobs.ledger.ledger import SettledCall

async def main() -> None:
    pool = AsyncConnectionPool(sys.argv[1], open=False, kwargs={"autocommit": True})
    await pool.open()
    ledger = LeasedLedger(pool, hold_seconds=1)
    who = Spender(sys.argv[2], "u", "j")
    first = await ledger.reserve(who, Decimal("0.3"))
    await ledger.settle(first, SettledCall("code", "m", 1, 1, Decimal("0.1")))
    await ledger.reserve(who, Decimal("0.2"))  # from the lease, in memory
    os.kill(os.getpid(), signal.SIGKILL)  # acknowledged settle done, a reservation in flight

asyncio.run(main())
"""


async def test_a_killed_lease_holder_loses_no_settle_and_its_share_comes_back(
    leased_db: str, pool: AsyncConnectionPool[Any]
) -> None:
    tenant = tenant_name()
    await BudgetCaps(pool).set_cap(Scope.tenant, tenant, "", Decimal("1.00"))
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", KILLED, leased_db, tenant)
    assert await asyncio.wait_for(proc.wait(), 60) == -9
    month = LeasedLedger(pool).clock().strftime("%Y-%m")
    assert await usage(pool, tenant, month) == (Decimal("0.1"), Decimal("0.2"))
    ledger = LeasedLedger(pool)
    who = Spender(tenant, "u", "j2")

    async def reserved_once_expired() -> bool:
        try:
            await ledger.reserve(who, Decimal("0.9"))
        except BudgetExhaustedError:
            return False
        return True

    assert await eventually(reserved_once_expired, timeout=20, what="the dead lease to expire")
    await ledger.close()
    assert await usage(pool, tenant, month) == (Decimal("0.1"), Decimal("0.9"))
    held = await rows(
        pool, "SELECT amount_usd FROM bdg_budget_reservations WHERE tenant = %s", tenant
    )
    assert held == [(Decimal("0.9"),)]  # the reservation in flight: the dead lease is gone


@dataclass(frozen=True)
class Caller:
    process: int
    user: int
    job: int
    worst: Decimal
    paid_share: Decimal  # of the worst case, what the call really cost
    outcome: str  # settle | fail | die


callers = st.builds(
    Caller,
    st.integers(0, 2),
    st.integers(0, 2),
    st.integers(0, 3),
    st.decimals(Decimal("0.01"), Decimal("0.40"), places=2),
    st.decimals(Decimal("0"), Decimal("1"), places=2),
    st.sampled_from(["settle", "settle", "fail", "die"]),
)
caps_ = st.one_of(st.none(), st.decimals(Decimal("0"), Decimal("1.5"), places=2))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    many=st.lists(callers, min_size=16, max_size=48),
    processes=st.integers(1, 3),
    tenant_cap=caps_,
    user_caps=st.lists(caps_, min_size=3, max_size=3),
    job_caps=st.lists(caps_, min_size=4, max_size=4),
)
def test_leases_of_several_processes_never_pass_a_cap_and_all_come_back(
    leased_db: str,
    many: list[Caller],
    processes: int,
    tenant_cap: Decimal | None,
    user_caps: list[Decimal | None],
    job_caps: list[Decimal | None],
) -> None:
    caps = {"tenant": tenant_cap, "user": user_caps, "job": job_caps}
    asyncio.run(_run_processes(leased_db, many, processes, caps))


_BALANCES = """
    SELECT a.key, a.spent_usd, a.reserved_usd, c.cap_usd FROM bdg_budget_accounts a
    LEFT JOIN bdg_budget_caps c ON c.key = a.key WHERE a.tenant = %s
"""


async def _set_caps(pool: AsyncConnectionPool[Any], tenant: str, caps: dict[str, Any]) -> None:
    budget = BudgetCaps(pool)
    if caps["tenant"] is not None:
        await budget.set_cap(Scope.tenant, tenant, "", caps["tenant"])
    for scope, subject in ((Scope.user, "u"), (Scope.job, "j")):
        for i, cap in enumerate(caps[scope.value]):
            if cap is not None:
                await budget.set_cap(scope, tenant, f"{subject}{i}", cap)


async def _run_processes(
    url: str, many: list[Caller], processes: int, caps: dict[str, Any]
) -> None:
    tenant = tenant_name()
    pool = await open_pool(url, size=16)
    try:
        await _set_caps(pool, tenant, caps)
        # Each ledger stands for a process of its own: its leases are its alone.
        ledgers = [LeasedLedger(pool) for _ in range(processes)]
        # A process killed while holding leases: they expire at once, it never gives them back.
        dying = LeasedLedger(pool, hold_seconds=0, idle_seconds=3600)
        paid: list[Decimal] = []
        running = True

        async def watch() -> int:
            """The accounts as other processes see them while the callers run: leases plus
            spent never past a cap."""
            looks = 0
            while running:
                for key, spent, reserved, cap in await rows(pool, _BALANCES, tenant):
                    assert cap is None or spent + reserved <= cap, f"{key} past {cap}"
                looks += 1
            return looks

        async def one(c: Caller) -> None:
            who = Spender(tenant, f"u{c.user}", f"j{c.job}")
            ledger = dying if c.outcome == "die" else ledgers[c.process % processes]
            try:
                held = await ledger.reserve(who, c.worst)
            except BudgetExhaustedError:
                return
            if c.outcome == "settle":
                cost = (c.worst * c.paid_share).quantize(Decimal("0.0001"))
                await ledger.settle(held, call(cost))
                paid.append(cost)
            elif c.outcome == "fail":
                assert await ledger.release(held)

        watching = asyncio.ensure_future(watch())
        await asyncio.gather(*(one(c) for c in many))
        running = False
        assert await watching > 0
        await asyncio.gather(*(ledger.close() for ledger in ledgers))
        await ledgers[0].expire()  # the dead process's leases

        balances = await rows(pool, _BALANCES, tenant)
        for key, spent, reserved, cap in balances:
            assert cap is None or spent <= cap, f"{key} spent {spent} over its cap {cap}"
            assert reserved == 0, f"{key} still holds {reserved}"
        held = await rows(pool, "SELECT id FROM bdg_budget_reservations WHERE tenant = %s", tenant)
        assert held == []
        tenant_spent = sum((s for k, s, _, _ in balances if k == f"tenant:{tenant}"), Decimal(0))
        recorded = await rows(
            pool,
            "SELECT coalesce(sum(cost_usd), 0) FROM bdg_budget_calls WHERE tenant = %s",
            tenant,
        )
        assert tenant_spent == sum(paid, Decimal(0)) == recorded[0][0]
    finally:
        await pool.close()
