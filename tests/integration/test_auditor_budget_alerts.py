"""Two auditor processes on real PostgreSQL, NATS and S3 run the budget pass: the 80% alert of a
tenant's cap is recorded once and mailed once, read from a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from bdg_contracts.budget_events import BudgetWarningReached, budget_alert_id
from bdg_jobs.ledger.accounts import Scope, Spender, month_of
from bdg_jobs.ledger.caps import BudgetCaps
from bdg_jobs.ledger.ledger import PostgresLedger, SettledCall
from tests.conftest import Servers
from tests.integration.smtp_server import free_port, smtp_server
from tests.integration.test_auditor_service import Auditor, _ready, _rig
from tests.waiting import eventually

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]


async def _spend(pool: AsyncConnectionPool[Any], cost: str) -> None:
    ledger = PostgresLedger(pool)
    held = await ledger.reserve(Spender("acme", "ann", "job-1"), Decimal(cost))
    await ledger.settle(held, SettledCall("code", "gpt-4o", 100, 10, Decimal(cost)))


async def _rolled_up(url: str) -> Decimal:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute("SELECT coalesce(sum(cost_usd), 0) FROM bdg_cost_daily")
        row = await cur.fetchone()
    assert row is not None
    return Decimal(row[0])


async def test_two_auditors_record_and_mail_the_80_percent_alert_once(
    servers: Servers, database_url: str, namespace: str, tmp_path: Path, s3_endpoint: str
) -> None:
    port = free_port()
    async with _rig(servers, database_url, namespace, tmp_path, s3_endpoint, s3_endpoint) as rig:
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            database_url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True}
        )
        await pool.open()
        env = {
            **rig.auditor.env,
            "BDG_BUDGET_ROLLUP_SECONDS": "0.3",
            "BDG_SMTP_HOST": "127.0.0.1",
            "BDG_SMTP_PORT": str(port),
            "BDG_SMTP_STARTTLS": "false",
            "BDG_ALERT_EMAIL_TO": "ops@example.test",
        }
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        auditors = [Auditor(env, tmp_path / "a" / "x"), Auditor(env, tmp_path / "b" / "x")]
        try:
            with smtp_server(port) as inbox:
                await BudgetCaps(pool).set_cap(Scope.tenant, "acme", "", Decimal("1"))
                await _spend(pool, "0.85")
                for auditor in auditors:
                    auditor.start()
                for auditor in auditors:
                    rig.auditor = auditor
                    await _ready(rig)

                async def mailed() -> int:
                    return len(inbox.messages)

                await eventually(mailed, 60, "the alert email")
                await _spend(pool, "0.05")  # a later pass rolls this up: passes went on

                async def later_pass() -> bool:
                    return await _rolled_up(database_url) == Decimal("0.90")

                await eventually(later_pass, 60, "a pass after the email")
                assert len(inbox.messages) == 1
            alert = budget_alert_id("tenant:acme", month_of(PostgresLedger(pool).clock()), 80)
            assert [type(e) for e in rig.store.history(alert)] == [BudgetWarningReached]
        finally:
            for auditor in auditors:
                auditor.stop()
            await pool.close()
    assert "acme: tenant budget at 80%" in inbox.messages[0]["Subject"]
