"""A budget cap reached (``BudgetExceeded``) is mailed once by the auditor, a real process on real
PostgreSQL, NATS and S3, read from a real SMTP server (aiosmtpd): a tenant cap that suspends
several jobs is one email, a job's own cap another, and a kill -9 of the auditor while SMTP is
down (and events arriving while it is gone) neither loses an email nor sends one twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from bdg_jobs.domain import Cause, Job
from bdg_jobs.ledger.accounts import Scope, Spender, cap_key, month_of
from bdg_jobs.ledger.ledger import PostgresLedger, SettledCall
from tests.conftest import Servers
from tests.integration.smtp_server import free_port, smtp_server
from tests.integration.test_auditor_service import Auditor, Rig, _ready, _rig
from tests.waiting import eventually

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]

T0 = datetime.now(UTC)
_ALERTS = "SELECT key, percent, email_attempts, email_sent_at FROM bdg_budget_alerts ORDER BY key"


async def _alerts(url: str) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        return await (await conn.execute(_ALERTS)).fetchall()


async def _suspend(
    rig: Rig, tenant: str, key: str, period: str, cap: float, job_id: UUID | None = None
) -> Job:
    """A planning job of ``tenant`` suspended by the cap ``key``, as the planner does it."""
    job_id = job_id or uuid4()
    cause = Cause(producer="user:ann", occurred_at=T0, user_id="ann")
    job = Job.request(job_id, tenant, cause, goal="add a, b")
    planner = Cause(producer="planner", occurred_at=T0 + timedelta(seconds=1), user_id="ann")
    job.exceed_budget(planner, cap, cap, key, period)
    await rig.app.start(job)
    return job


async def _rolled_up(url: str) -> Decimal:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        row = await (await conn.execute("SELECT sum(cost_usd) FROM bdg_cost_daily")).fetchone()
    return Decimal(row[0] or 0) if row else Decimal(0)


async def test_cap_reached_is_mailed_once_across_jobs_and_a_kill_9_while_smtp_is_down(
    servers: Servers, database_url: str, namespace: str, tmp_path: Path, s3_endpoint: str
) -> None:
    port, tenant, month = free_port(), "acme", month_of(T0)
    tenant_cap = cap_key(Scope.tenant, tenant)
    async with _rig(servers, database_url, namespace, tmp_path, s3_endpoint, s3_endpoint) as rig:
        rig.auditor = Auditor(
            {
                **rig.auditor.env,
                "BDG_BUDGET_ROLLUP_SECONDS": "0.3",
                "BDG_ALERT_RETRY_SECONDS": "0.2",
                "BDG_SMTP_HOST": "127.0.0.1",
                "BDG_SMTP_PORT": str(port),
                "BDG_SMTP_STARTTLS": "false",
                "BDG_SMTP_TIMEOUT": "2",
                "BDG_ALERT_EMAIL_TO": "ops@example.test",
            },
            tmp_path / "x",
        )
        rig.auditor.start()
        await _ready(rig)
        # SMTP is down (nothing listens on the port): the tenant's cap suspends two jobs.
        for _ in range(2):
            await _suspend(rig, tenant, tenant_cap, month, 5.0)

        async def tried() -> bool:
            rows = await _alerts(database_url)
            return len(rows) == 1 and rows[0][2] >= 1

        await eventually(tried, 60, "a failed send of the cap-reached email")
        rig.auditor.kill()
        # While the auditor is gone: a third job of the tenant cap, and a job's own cap.
        await _suspend(rig, tenant, tenant_cap, month, 5.0)
        own = uuid4()
        job_cap = cap_key(Scope.job, tenant, str(own))
        await _suspend(rig, tenant, job_cap, "", 0.5, own)
        with smtp_server(port) as inbox:
            rig.auditor.start()

            async def both_sent() -> bool:
                rows = await _alerts(database_url)
                return len(rows) == 2 and all(r[3] is not None for r in rows)

            await eventually(both_sent, 60, "both cap-reached emails")
            # Passes go on after the emails (a spend rolled up): nothing more was sent.
            pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
                database_url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True}
            )
            await pool.open()
            try:
                ledger = PostgresLedger(pool)
                held = await ledger.reserve(Spender("other", "bob", "j"), Decimal("0.01"))
                await ledger.settle(held, SettledCall("code", "m", 1, 1, Decimal("0.01")))
            finally:
                await pool.close()

            async def later_pass() -> bool:
                return await _rolled_up(database_url) >= Decimal("0.01")

            await eventually(later_pass, 60, "a budget pass after the emails")
            messages = list(inbox.messages)
    assert sorted(m["Subject"] for m in messages) == [
        f"[bdg] {tenant}: job budget cap reached",
        f"[bdg] {tenant}: tenant budget cap reached for {month}",
    ]
    tenant_mail = next(m for m in messages if "tenant budget" in m["Subject"])
    assert "spent $5.0 of $5.0" in tenant_mail.get_payload()
    assert "suspended_budget" in tenant_mail.get_payload()
    assert [(r[0], r[1]) for r in await _alerts(database_url)] == [
        (job_cap, 100),
        (tenant_cap, 100),
    ]
