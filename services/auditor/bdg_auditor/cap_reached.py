"""A cap reached (``BudgetExceeded``) owes one alert email: the reaction queues it in the budget
alerts outbox, where the budget pass sends it like the 80% warning (issue 17 item 4).

A tenant's cap suspends each of its running jobs with a ``BudgetExceeded`` of its own, and an
event is redelivered after a crash; all of them land on the one row of the cap and its period
(``queue_reached``), so one email goes out. The row is sent by the next budget pass.
"""

from __future__ import annotations

import logging

import psycopg

from bdg_contracts import events as ev
from bdg_jobs.ledger.alerts import REACHED_PERCENT, Alert, queue_reached
from bdg_jobs.ledger.ledger import usd
from bdg_runtime.reactions import Delivery

log = logging.getLogger(__name__)


def reached_alert(event: ev.BudgetExceeded) -> Alert | None:
    """The alert an event owes; None for one recorded before events named their cap."""
    if event.cap_key is None or event.period is None:
        return None
    return Alert(
        key=event.cap_key,
        period=event.period,
        percent=REACHED_PERCENT,
        tenant=event.tenant_id,
        cap_usd=usd(event.limit_usd),
        spent_usd=usd(event.spent_usd),
    )


class CapReachedAlerts:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    async def on_budget_exceeded(self, delivery: Delivery[ev.BudgetExceeded]) -> None:
        alert = reached_alert(delivery.event)
        if alert is None:
            log.info("job %s: cap not named (an old event), no email", delivery.event.job_id)
            return
        # Rare (once per suspended job): a connection of its own, not a pool kept open.
        async with await psycopg.AsyncConnection.connect(
            self.database_url, autocommit=True
        ) as conn:
            if await queue_reached(conn, alert):
                log.info("budget cap reached: %s (%s), email queued", alert.key, alert.period)
