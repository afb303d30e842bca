"""Auditor service: a signed, hash-chained ``audit.csv`` per job ending, in S3 (DESIGN.md 7, 9).

Composition root: settings are read and the keyring, object store and use case built here,
inside the runtime's start (nothing connects at import time). With no ``BDG_S3_ENDPOINT`` the
embedded SeaweedFS under ``BDG_HOME`` is started (or joined) and let go of on the way out.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta
from typing import Any

from psycopg_pool import AsyncConnectionPool

from bdg_audit.keys import Keyring
from bdg_audit.settings import AuditSettings
from bdg_audit.store import ObjectStore
from bdg_auditor.adapters import AuditStorage
from bdg_auditor.alert_mail import AlertSettings, SmtpMailer
from bdg_auditor.application import Auditing
from bdg_auditor.audit_retention import AuditRetention
from bdg_auditor.budget_alerts import BudgetAlerts
from bdg_auditor.cap_reached import CapReachedAlerts
from bdg_auditor.digester import Digester
from bdg_auditor.handlers import AuditorHandlers
from bdg_auditor.legacy_rewrite import LegacyRewrite
from bdg_auditor.removal_records import RemovalRecords
from bdg_auditor.sweeper import Sweeper, every_while
from bdg_jobs.application import utc_now
from bdg_jobs.ledger.alerts import AlertOutbox
from bdg_jobs.ledger.rollup import DailyRollup
from bdg_jobs.personal.retention import Retention
from bdg_jobs.store import JobStore
from bdg_jobs.tenants import load_policies
from bdg_runtime import service
from bdg_runtime.bus_erasure import BusPurger
from bdg_runtime.embedded import EmbeddedStack, start_embedded
from bdg_runtime.reactions import AnyReaction

NAME = "auditor"
log = logging.getLogger("bdg_auditor")


def s3_endpoint(settings: AuditSettings) -> tuple[str, EmbeddedStack | None]:
    """The configured S3 endpoint, or the embedded SeaweedFS's (and the handle to let go of)."""
    if settings.bdg_s3_endpoint:
        return settings.bdg_s3_endpoint, None
    stack = start_embedded(settings.bdg_home, postgres=False, nats=False, s3=True)
    assert stack.s3_url
    return stack.s3_url, stack


def build(store: JobStore, settings: AuditSettings, endpoint: str) -> Auditing:
    storage = AuditStorage(
        ObjectStore.connect(endpoint, settings),
        Keyring(settings.keys_dir),
        settings.bdg_audit_prefix,
        timedelta(days=settings.bdg_audit_rotate_days),
    )
    return Auditing(store, storage, settings.bdg_audit_prefix, utc_now)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def run() -> None:
    settings = AuditSettings()
    # Until the runtime installs its own handlers: a stop while the embedded S3 starts must
    # still let go of it (the default action would leave it running).
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    endpoint, stack = s3_endpoint(settings)
    built: list[Auditing] = []
    rewrites: list[LegacyRewrite] = []

    def reactions(ctx: service.ServiceContext) -> list[AnyReaction]:
        log.info("audit files: s3 %s bucket %s", endpoint, settings.bdg_s3_bucket)
        auditing = build(ctx.store, settings, endpoint)
        built.append(auditing)
        if ctx.store.personal is not None:  # old files are rewritten under the data keys
            removals = RemovalRecords(ctx.store, auditing.storage, auditing.prefix, utc_now)
            rewrites.append(LegacyRewrite(auditing, removals, ctx.database_url))
        reached = CapReachedAlerts(ctx.database_url)
        return AuditorHandlers(auditing, reached, rewrites[0] if rewrites else None).reactions()

    async def background(ctx: service.ServiceContext, stop: asyncio.Event) -> None:
        auditing = built[0]
        every = settings.bdg_audit_retry_seconds
        sweeper = Sweeper(auditing, ctx.database_url, timedelta(seconds=every))
        period = timedelta(seconds=settings.bdg_audit_digest_seconds)
        digester = Digester(
            ctx.store, auditing.storage, ctx.database_url, auditing.prefix, period, utc_now
        )
        policies = load_policies(ctx.settings.bdg_tenant_policies)
        retention = Retention(ctx.database_url, policies, BusPurger(ctx.js), utc_now)
        removals = RemovalRecords(ctx.store, auditing.storage, auditing.prefix, utc_now)
        audit_retention = AuditRetention(removals, ctx.database_url, policies, period, utc_now)
        alerting = AlertSettings()
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            ctx.database_url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True}
        )
        await pool.open()
        budget = BudgetAlerts(
            DailyRollup(pool),
            AlertOutbox(pool, first_retry=alerting.bdg_alert_retry_seconds),
            ctx.store,
            SmtpMailer(alerting),
            utc_now,
        )
        try:
            await asyncio.gather(
                sweeper.run(every, stop),
                every_while(digester.step, min(every, 60.0), stop),
                every_while(budget.step, alerting.bdg_budget_rollup_seconds, stop),
                every_while(retention.step, settings.bdg_retention_seconds, stop),
                every_while(audit_retention.step, settings.bdg_retention_seconds, stop),
                *(every_while(r.step, every, stop) for r in rewrites),
            )
        finally:
            await pool.close()

    try:
        service.run(NAME, reactions, background)
    finally:
        if stack is not None:
            stack.stop()


if __name__ == "__main__":
    run()
