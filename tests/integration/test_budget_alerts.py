"""The daily roll-up and the 80% alerts on real PostgreSQL, emails read from a real SMTP server
(aiosmtpd): one runner across replicas, missed days caught up, one event and one email per
cap and period even with two auditors, SMTP down retried later."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from bdg_auditor.alert_mail import AlertSettings, SmtpMailer
from bdg_auditor.budget_alerts import BudgetAlerts
from bdg_contracts.budget_events import BudgetWarningReached, budget_alert_id
from bdg_jobs.ledger.accounts import Scope, Spender, month_of
from bdg_jobs.ledger.alerts import AlertOutbox
from bdg_jobs.ledger.caps import BudgetCaps
from bdg_jobs.ledger.ledger import PostgresLedger, SettledCall
from bdg_jobs.ledger.rollup import LOCK_KEY, DailyRollup
from bdg_jobs.store import JobStore
from tests.integration.smtp_server import Login, free_port, self_signed_tls, smtp_server
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    p: AsyncConnectionPool[Any] = AsyncConnectionPool(
        database_url, min_size=1, max_size=6, open=False, kwargs={"autocommit": True}
    )
    await p.open()
    yield p
    await p.close()


async def rows(pool: AsyncConnectionPool[Any], query: str, *args: Any) -> list[tuple[Any, ...]]:
    async with pool.connection() as conn:
        cur = await conn.execute(query, args)
        return await cur.fetchall()


async def spend(pool: AsyncConnectionPool[Any], who: Spender, *costs: str) -> None:
    ledger = PostgresLedger(pool)
    for cost in costs:
        held = await ledger.reserve(who, Decimal(cost))
        await ledger.settle(held, SettledCall("code", "gpt-4o", 10, 5, Decimal(cost)))


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def settings(port: int, **more: Any) -> AlertSettings:
    given: dict[str, Any] = {
        "bdg_smtp_host": "127.0.0.1",
        "bdg_smtp_port": port,
        "bdg_smtp_starttls": False,
        "bdg_alert_email_to": "ops@example.test",
    }
    return AlertSettings(**(given | more))


def auditor(
    pool: AsyncConnectionPool[Any], store: JobStore, mailer: SmtpMailer, retry: float = 30.0
) -> BudgetAlerts:
    return BudgetAlerts(
        DailyRollup(pool),
        AlertOutbox(pool, first_retry=retry),
        store,
        mailer,
        lambda: datetime.now(UTC),
    )


async def test_missed_days_are_caught_up_and_sums_match_the_settled_calls(
    pool: AsyncConnectionPool[Any],
) -> None:
    today = date(2026, 3, 10)
    days = [today - timedelta(days=n) for n in (6, 3, 1, 0)]
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO bdg_cost_rollup_mark (rolled_through) VALUES (%s)",
            (today - timedelta(days=5),),
        )
        for n, day in enumerate(days):
            for op, cost in (("plan", "0.10"), ("code", "0.25"), ("code", "0.05")):
                await conn.execute(
                    """INSERT INTO bdg_budget_calls (id, tenant, user_id, job_id, operation,
                       model, prompt_tokens, completion_tokens, cost_usd, settled_at)
                       VALUES (gen_random_uuid(), 'acme', 'ann', 'j', %s, 'm', 10, %s, %s, %s)""",
                    (op, n, Decimal(cost), noon(day)),
                )
    done = await DailyRollup(pool, clock=lambda: noon(today)).run_once()
    assert done is not None
    assert done.first_day == today - timedelta(days=4)
    daily = await rows(
        pool, "SELECT day, operation, calls, cost_usd FROM bdg_cost_daily ORDER BY day, operation"
    )
    # The day before the mark was rolled up for good before: a pass starts after the mark.
    assert [(d, op, n, c) for d, op, n, c in daily] == [
        (day, op, n, Decimal(c))
        for day in days[1:]
        for op, n, c in (("code", 2, "0.30"), ("plan", 1, "0.10"))
    ]
    mark = await rows(pool, "SELECT rolled_through FROM bdg_cost_rollup_mark")
    assert mark == [(today - timedelta(days=1),)]


async def test_one_runner_at_a_time_the_other_replica_skips(
    pool: AsyncConnectionPool[Any],
) -> None:
    async with pool.connection() as holder, holder.transaction():
        await holder.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        assert await DailyRollup(pool).run_once() is None
    assert await DailyRollup(pool).run_once() is not None


async def test_80_percent_alert_once_per_period_with_two_auditors_and_a_restart(
    pool: AsyncConnectionPool[Any], database_url: str
) -> None:
    tenant = "t" + secrets.token_hex(4)
    who = Spender(tenant, "ann", "job-1")
    await BudgetCaps(pool).set_cap(Scope.tenant, tenant, "", Decimal("10"))
    await BudgetCaps(pool).set_cap(Scope.user, tenant, "bob", Decimal("10"))
    port = free_port()
    store = JobStore.from_url(database_url)
    try:
        with smtp_server(port) as inbox:
            mailer = SmtpMailer(settings(port))
            await spend(pool, who, "5.00", "2.90")  # 79%: no alert yet
            assert await auditor(pool, store, mailer).step() == 0
            await spend(pool, who, "0.20")  # 81%
            two = [auditor(pool, store, mailer), auditor(pool, store, mailer)]
            sent = await asyncio.gather(*(a.step() for a in two for _ in range(3)))
            await spend(pool, who, "0.50")  # more spend, same period: no second alert
            sent.append(await auditor(pool, store, mailer).step())  # "restarted"
            assert sum(sent) == 1
            assert len(inbox.messages) == 1
    finally:
        store.close()
    message = inbox.messages[0]
    assert message["To"] == "ops@example.test"
    assert f"{tenant}: tenant budget at 80%" in message["Subject"]
    assert "spent $8.10 of $10" in message.get_payload()
    period = month_of(datetime.now(UTC))
    alert_id = budget_alert_id(f"tenant:{tenant}", period, 80)
    assert message["Message-ID"] == f"<{alert_id}@bdg>"
    events = JobStore.from_url(database_url).history(alert_id)
    assert [type(e) for e in events] == [BudgetWarningReached]
    assert events[0].spent_usd == 8.1
    assert events[0].tenant_id == tenant
    # bob spent nothing: his cap raised no alert.
    assert await rows(pool, "SELECT key FROM bdg_budget_alerts") == [(f"tenant:{tenant}",)]


async def test_smtp_down_is_retried_later_and_the_event_is_recorded_meanwhile(
    pool: AsyncConnectionPool[Any], database_url: str
) -> None:
    tenant = "t" + secrets.token_hex(4)
    await BudgetCaps(pool).set_cap(Scope.user, tenant, "ann", Decimal("1"))
    await spend(pool, Spender(tenant, "ann", "job-1"), "0.90")
    port = free_port()  # nothing listens there yet
    store = JobStore.from_url(database_url)
    try:
        # No backoff at all: the alert is due again at once, yet a pass tries it only once.
        down = auditor(pool, store, SmtpMailer(settings(port, bdg_smtp_timeout=2)), retry=0)
        assert await down.step() == 0
        ((attempts, error, recorded),) = await rows(
            pool, "SELECT email_attempts, email_error, event_recorded FROM bdg_budget_alerts"
        )
        assert attempts == 1
        assert error
        assert recorded
        # The ledger goes on: a call is reserved and settled while SMTP is down.
        await spend(pool, Spender(tenant, "ann", "job-1"), "0.05")
        with smtp_server(port) as inbox:
            up = auditor(pool, store, SmtpMailer(settings(port)), retry=0.05)
            sent = await eventually(up.step, 10, "the alert sent after the backoff")
            assert sent == 1
            assert len(inbox.messages) == 1
    finally:
        store.close()
    assert f"{tenant}: user budget at 80%" in inbox.messages[0]["Subject"]


async def test_starttls_and_login_are_used_when_configured(
    pool: AsyncConnectionPool[Any], database_url: str
) -> None:
    tenant = "t" + secrets.token_hex(4)
    await BudgetCaps(pool).set_cap(Scope.tenant, tenant, "", Decimal("1"))
    await spend(pool, Spender(tenant, "ann", "job-1"), "0.95")
    tls, port = self_signed_tls(), free_port()
    with smtp_server(port, tls, Login("alerts", "s3cret")) as inbox:
        wrong = settings(
            port, bdg_smtp_starttls=True, bdg_smtp_user="alerts", bdg_smtp_password="nope"
        )
        store = JobStore.from_url(database_url)
        try:
            assert await auditor(pool, store, SmtpMailer(wrong, tls.client), 0.05).step() == 0
            right = settings(
                port, bdg_smtp_starttls=True, bdg_smtp_user="alerts", bdg_smtp_password="s3cret"
            )
            up = auditor(pool, store, SmtpMailer(right, tls.client), retry=0.05)
            sent = await eventually(up.step, 10, "the alert sent with the right login")
        finally:
            store.close()
        assert sent == 1
        assert len(inbox.messages) == 1
