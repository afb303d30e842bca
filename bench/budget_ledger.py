"""Budget ledger throughput: reserve + settle with N concurrent callers, beside the raw limit.

The raw limit is measured in the same run on the same server: the same callers doing bare
``UPDATE ... ; COMMIT`` round trips on one row each (no ledger logic), the most single-row
transactions the server and this client can do. The ledger's figure is calls/s, each call being
two ledger operations (reserve, settle), which the ledger groups into batches (one transaction
each, counted from pg_stat_database); the cap invariant is checked at the end (spent <= cap on
every account, nothing left reserved).

    uv run python -m bench.budget_ledger [--url postgresql://...] [--callers 16] [--seconds 10]

Two ledgers are measured, each beside the ceiling of its shape of work, one commit being a
single connection's ``UPDATE``+``COMMIT`` on the same server in the same run:

- ``PostgresLedger`` (a durable reservation per call): a caller waits for each of its two
  operations to be committed and the tenant's account row is locked from a batch's read to its
  commit, so batches run one after another, each at least one commit long (its WAL flush), and
  each holds at most one operation per caller: ``callers / (2 x one commit)`` calls/s.
- ``LeasedLedger`` (reserves served from a lease held in one durable commit; settles committed
  in groups): a caller waits for one commit per call (its settle), batches still one after
  another: ``callers / one commit`` calls/s.

The raw limit is higher than both because concurrent commits on different rows share their WAL
flushes.

With no --url it starts the embedded PostgreSQL (bench/fresh_postgres.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from decimal import Decimal
from typing import Any

from psycopg_pool import AsyncConnectionPool

from bdg_jobs.ledger.accounts import Scope, Spender
from bdg_jobs.ledger.caps import BudgetCaps
from bdg_jobs.ledger.errors import BudgetExhaustedError
from bdg_jobs.ledger.leased import LeasedLedger
from bdg_jobs.ledger.ledger import PostgresLedger, SettledCall
from bdg_jobs.migrations import migrate
from bench.fresh_postgres import fresh_database

TENANT = "bench"
CAP = Decimal("1000000")
CALL = SettledCall("code", "gpt-4o-mini", 1000, 200, Decimal("0.00027"))


async def _for(seconds: float, callers: int, one: Any) -> int:
    deadline = time.monotonic() + seconds
    counts = [0] * callers

    async def loop(i: int) -> None:
        while time.monotonic() < deadline:
            await one(i)
            counts[i] += 1

    await asyncio.gather(*(loop(i) for i in range(callers)))
    return sum(counts)


async def raw_limit(pool: AsyncConnectionPool[Any], callers: int, seconds: float) -> float:
    async with pool.connection() as conn:
        await conn.execute("CREATE TABLE bench_raw (id INT PRIMARY KEY, n BIGINT NOT NULL)")
        await conn.execute(
            "INSERT INTO bench_raw SELECT g, 0 FROM generate_series(0, %s) g", (callers,)
        )

    async def one(i: int) -> None:
        async with pool.connection() as conn, conn.transaction():
            await conn.execute("UPDATE bench_raw SET n = n + 1 WHERE id = %s", (i,))

    return await _for(seconds, callers, one) / seconds


async def one_commit(pool: AsyncConnectionPool[Any], n: int = 200) -> float:
    """Median seconds of one ``UPDATE``+``COMMIT`` on one connection, nothing else running."""
    times = []
    async with pool.connection() as conn:
        for _ in range(n):
            start = time.perf_counter()
            async with conn.transaction():
                await conn.execute("UPDATE bench_raw SET n = n + 1 WHERE id = 0")
            times.append(time.perf_counter() - start)
    return statistics.median(times)


async def commits(pool: AsyncConnectionPool[Any]) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def ledger_rate(
    ledger: PostgresLedger | LeasedLedger, callers: int, seconds: float, users: int
) -> tuple[float, int]:
    await BudgetCaps(ledger.pool).set_cap(Scope.tenant, TENANT, "", CAP)
    refused = 0

    async def one(i: int) -> None:
        nonlocal refused
        who = Spender(TENANT, f"u{i % users}", f"job-{i}")
        try:
            held = await ledger.reserve(who, Decimal("0.002"))
        except BudgetExhaustedError:
            refused += 1
            return
        await ledger.settle(held, CALL)

    rate = await _for(seconds, callers, one) / seconds
    if isinstance(ledger, LeasedLedger):
        await ledger.close()  # the leases' unspent shares given back
    return rate, refused


async def measured(
    pool: AsyncConnectionPool[Any],
    ledger: PostgresLedger | LeasedLedger,
    args: tuple[int, float, int],
) -> tuple[float, float, int]:
    """calls/s, transactions/s and refusals of one ledger, the invariant checked after."""
    before = await commits(pool)
    calls, refused = await ledger_rate(ledger, *args)
    await asyncio.sleep(0.6)  # pg_stat_database is reported every 500 ms
    transactions = (await commits(pool) - before) / args[1]
    await check_invariant(pool)
    return calls, transactions, refused


async def check_invariant(pool: AsyncConnectionPool[Any]) -> None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM bdg_budget_accounts a JOIN bdg_budget_caps c USING (key) "
            "WHERE a.spent_usd > c.cap_usd OR a.reserved_usd <> 0"
        )
        bad = await cur.fetchone()
        held = await (await conn.execute("SELECT count(*) FROM bdg_budget_reservations")).fetchone()
    assert bad is not None
    assert bad[0] == 0, "an account passed its cap or kept a reservation"
    assert held is not None
    assert held[0] == 0, "reservations left behind"


async def run(url: str, callers: int, seconds: float, users: int) -> None:
    migrate(url)
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url, min_size=callers, max_size=callers, open=False, kwargs={"autocommit": True}
    )
    await pool.open(wait=True)
    try:
        raw = await raw_limit(pool, callers, seconds)
        commit = await one_commit(pool)
        per_call = await measured(pool, PostgresLedger(pool), (callers, seconds, users))
        leased = await measured(pool, LeasedLedger(pool), (callers, seconds, users))
    finally:
        await pool.close()
    print(f"callers: {callers}, {seconds:.0f} s each, {users} users sharing the tenant's cap")
    print(f"raw limit (UPDATE+COMMIT): {raw:,.0f} transactions/s")
    print(f"one commit (1 connection): {commit * 1000:.2f} ms")
    # Durable waits per call: reserve and settle, or the settle alone (reserves from the lease).
    for name, (calls, transactions, refused), waits in (
        ("PostgresLedger", per_call, 2),
        ("LeasedLedger", leased, 1),
    ):
        ceiling = callers / (waits * commit)
        print(
            f"{name + ' reserve+settle:':31} {calls:,.0f} calls/s in {transactions:,.0f} "
            f"transactions/s; ceiling {ceiling:,.0f} calls/s (at {calls / ceiling:.0%} of it, "
            f"{waits * calls / raw:.0%} of raw in durable operations); refused: {refused}; "
            "invariant held"
        )
    print(f"load average (1 min):      {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a PostgreSQL server (default: embedded)")
    parser.add_argument("--callers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=4, help="users of the one tenant")
    args = parser.parse_args()
    with fresh_database(args.url) as url:
        asyncio.run(run(url, args.callers, args.seconds, args.users))


if __name__ == "__main__":
    main()
