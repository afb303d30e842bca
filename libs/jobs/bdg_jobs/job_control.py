"""The job's control decisions: a step failed or is retried, pause, resume, cancel, budget."""

from __future__ import annotations

from bdg_contracts import events as ev
from bdg_contracts.states import Step
from bdg_jobs.aggregate import Cause
from bdg_jobs.errors import IllegalTransitionError
from bdg_jobs.job_facts import JobFacts


class ControlDecisions(JobFacts):
    def fail_step(
        self,
        cause: Cause,
        step: Step,
        service: str,
        reason: str,
        failed_event_version: int,
        deliveries: int = 0,
    ) -> None:
        self._append(
            ev.StepFailed,
            cause,
            step=step,
            service=service,
            reason=reason,
            failed_event_version=failed_event_version,
            deliveries=deliveries,
        )

    def retry_step(self, cause: Cause) -> ev.StepRetried:
        if self.failed_step is None or self.failed_service is None:
            raise IllegalTransitionError(f"cannot retry a job in state {self.state}")
        assert self.failed_event_version is not None
        return self._append(
            ev.StepRetried,
            cause,
            step=self.failed_step,
            service=self.failed_service,
            failed_event_version=self.failed_event_version,
        )

    def pause(self, cause: Cause, reason: str = "") -> None:
        self._append(ev.JobPaused, cause, reason=reason)

    def resume(self, cause: Cause) -> None:
        self._append(ev.JobResumed, cause)

    def cancel(self, cause: Cause, reason: str = "") -> None:
        self._append(ev.JobCancelled, cause, reason=reason)

    def exceed_budget(
        self, cause: Cause, limit_usd: float, spent_usd: float, cap_key: str, period: str
    ) -> None:
        self._append(
            ev.BudgetExceeded,
            cause,
            limit_usd=limit_usd,
            spent_usd=spent_usd,
            cap_key=cap_key,
            period=period,
        )

    def raise_budget(self, cause: Cause, limit_usd: float) -> None:
        self._append(ev.BudgetRaised, cause, limit_usd=limit_usd)
