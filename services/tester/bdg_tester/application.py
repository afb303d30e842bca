"""Tester use case: run the tests of the latest coding attempt, record passed or failed."""

from __future__ import annotations

from bdg_contracts.states import JobState
from bdg_jobs.domain import Cause, Job
from bdg_runtime.reactions import Delivery
from bdg_tester.adapters import AbstractTestRunner
from bdg_tester.domain import TestTask


async def _job_to_work_on(delivery: Delivery, state: JobState) -> Job | None:
    """The job, unless this service already reacted or the job is no longer in ``state``
    (a redelivery, or a job that moved on): then the slow work is skipped."""
    job = await delivery.app.load(delivery.event.job_id)
    if job.has_reacted(delivery.service, delivery.event.event_id) or job.state != state:
        return None
    return job


class Testing:
    def __init__(self, runner: AbstractTestRunner) -> None:
        self.runner = runner

    async def run(self, delivery: Delivery) -> None:
        job = await _job_to_work_on(delivery, JobState.testing)
        if job is None:
            return
        run = await self.runner.run(TestTask(job.goal, job.attempt, job.repo))

        def decide(job: Job, cause: Cause) -> None:
            if run.passed:
                job.pass_tests(cause, run.results)
            else:  # the job fails the step itself once its attempts are spent
                job.fail_tests(cause, run.results, run.why_failed)

        await delivery.react(decide)
