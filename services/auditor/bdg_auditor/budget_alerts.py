"""The auditor's budget pass: roll up the day's spend, record each new 80% alert as an event,
and send the alert emails due (DESIGN.md 9; issue 17 items 5 and 6).

Each part is idempotent, so a pass cut short anywhere is finished by the next one: the roll-up
recomputes its days, an alert's event is appended at version 1 of the alert's own aggregate
(a second writer loses on the version), and an email row is sent under its lock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from bdg_auditor.alert_mail import SmtpMailer
from bdg_contracts.budget_events import BudgetWarningReached, budget_alert_id
from bdg_jobs.errors import ConcurrencyConflictError
from bdg_jobs.ledger.alerts import Alert, AlertOutbox
from bdg_jobs.ledger.rollup import DailyRollup
from bdg_jobs.store import JobStore

log = logging.getLogger(__name__)


def warning_event(alert: Alert, at: datetime) -> BudgetWarningReached:
    alert_id = budget_alert_id(alert.key, alert.period, alert.percent)
    return BudgetWarningReached(
        job_id=alert_id,
        version=1,
        correlation_id=str(alert_id),
        tenant_id=alert.tenant,
        producer="auditor",
        occurred_at=at,
        cap_key=alert.key,
        period=alert.period,
        percent=alert.percent,
        cap_usd=float(alert.cap_usd),
        spent_usd=float(alert.spent_usd),
    )


class BudgetAlerts:
    def __init__(
        self,
        rollup: DailyRollup,
        outbox: AlertOutbox,
        store: JobStore,
        mailer: SmtpMailer,
        clock: Callable[[], datetime],
    ) -> None:
        self.rollup, self.outbox, self.store = rollup, outbox, store
        self.mailer, self.clock = mailer, clock

    async def step(self) -> int:
        """One pass; returns how many alert emails went out."""
        await self.rollup.run_once()
        for alert in await self.outbox.unrecorded():
            await self._record(alert)
        if not self.mailer.enabled:
            return 0
        return await self.outbox.send_due(self.mailer.send)

    async def _record(self, alert: Alert) -> None:
        try:
            await asyncio.to_thread(self.store.append, [warning_event(alert, self.clock())])
            log.info("budget warning: %s at %d%% for %s", alert.key, alert.percent, alert.period)
        except ConcurrencyConflictError:
            pass  # recorded already (by us before a crash, or by another auditor)
        await self.outbox.mark_recorded(alert)
