"""A step refused by the budget ledger suspends its job (``suspended_budget``), not fails it.

The suspension is not a reaction to the step's trigger (its cause is an id of its own), so the
trigger stays pending: raising the cap (``BudgetRaised``) puts the job back in its state and
re-drives the trigger, and the step runs again from its start. The calls paid before the refusal
are recorded with the suspension, so the job's cost still equals what the ledger settled.
"""

from __future__ import annotations

from bdg_contracts.base import Event
from bdg_contracts.ids import new_event_id
from bdg_jobs.domain import Cause, Job
from bdg_jobs.ledger.accounts import Spender
from bdg_jobs.ledger.errors import BudgetExhaustedError
from bdg_llm.api import ChatResult
from bdg_llm.llm_called_fields import fields_for_event
from bdg_runtime.reactions import Delivery


def spender_of(job: Job) -> Spender:
    return Spender(job.tenant_id, job.user_id or "", str(job.job_id))


async def suspend_for_budget(
    delivery: Delivery[Event], calls: list[tuple[str, ChatResult]], refused: BudgetExhaustedError
) -> None:
    cause = Cause(
        producer=delivery.service,
        occurred_at=delivery.app.clock(),
        causation_id=new_event_id(),
        user_id=delivery.event.user_id,
        traceparent=delivery.event.traceparent,
    )

    def decide(job: Job) -> None:
        for role, result in calls:
            job.record_llm_call(cause, **fields_for_event(result, role))
        job.exceed_budget(
            cause, float(refused.cap), float(refused.spent), refused.key, refused.period
        )

    await delivery.app.execute(delivery.event.job_id, decide)
