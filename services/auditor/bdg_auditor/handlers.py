"""One reaction per event that can end a job; each asks for the job's audit file. And one to
``BudgetExceeded``, which owes an alert email (``cap_reached``).

An unreachable object store is not a failure of the job: the reaction logs it and lets the
sweeper write the file from the log when the store is back (no retries, no dead letter). An
erasure's reaction also rewrites the old files that name the person in plain (its background
pass does what S3 being down left undone).
"""

from __future__ import annotations

import logging

from bdg_audit.store import StorageUnavailableError
from bdg_auditor.application import Auditing
from bdg_auditor.cap_reached import CapReachedAlerts
from bdg_auditor.legacy_rewrite import LegacyRewrite
from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bdg_contracts.privacy_events import PersonalDataErased
from bdg_contracts.states import Step
from bdg_runtime.reactions import AnyReaction, Delivery, Reaction

log = logging.getLogger(__name__)

# The events after which a job may be done, failed or cancelled (the file is written only if
# it is: a canary Deployed leaves the job deploying).
ENDINGS: tuple[type[Event], ...] = (
    ev.Deployed,
    ev.CanaryPromoted,
    ev.RolledBack,
    ev.StepFailed,
    ev.JobCancelled,
    PersonalDataErased,  # not a job's end: the erasure's own file, its signed record
)


class AuditorHandlers:
    def __init__(
        self, auditing: Auditing, reached: CapReachedAlerts, legacy: LegacyRewrite | None = None
    ) -> None:
        self.auditing, self.reached, self.legacy = auditing, reached, legacy

    async def on_ending(self, delivery: Delivery[Event]) -> None:
        event = delivery.event
        try:
            await self.auditing.write_file(event.job_id, event.version)
            if isinstance(event, PersonalDataErased) and self.legacy is not None:
                await self.legacy.after_erasure(event)  # old files naming them in plain
        except StorageUnavailableError as error:
            log.warning("audit file of job %s waits for S3: %s", event.job_id, error)

    def reactions(self) -> list[AnyReaction]:
        # ``step`` only names the work if the runtime gives up; a job that ended takes no
        # StepFailed, so it is never touched by the auditor's failures.
        endings: list[AnyReaction] = [
            Reaction(cls, Step.deploying, self.on_ending, name=f"Audit{cls.__name__}")
            for cls in ENDINGS
        ]
        # A job suspended for budget takes no StepFailed either (not a working state).
        alert = Reaction(
            ev.BudgetExceeded,
            Step.planning,
            self.reached.on_budget_exceeded,
            name="AlertCapReached",
        )
        return [*endings, alert]
