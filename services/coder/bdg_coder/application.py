"""Coder use case: one coding attempt, recorded as FilesChanged per patch then CodingFinished."""

from __future__ import annotations

from bdg_coder.adapters import AbstractCoder
from bdg_coder.domain import CodingTask, feedback_of
from bdg_contracts.states import JobState
from bdg_jobs.domain import Cause, Job
from bdg_runtime.reactions import Delivery


async def _job_to_work_on(delivery: Delivery, state: JobState) -> Job | None:
    """The job, unless this service already reacted or the job is no longer in ``state``
    (a redelivery, or a job that moved on): then the slow work is skipped."""
    job = await delivery.app.load(delivery.event.job_id)
    if job.has_reacted(delivery.service, delivery.event.event_id) or job.state != state:
        return None
    return job


class Coding:
    def __init__(self, coder: AbstractCoder) -> None:
        self.coder = coder

    async def attempt(self, delivery: Delivery) -> None:
        job = await _job_to_work_on(delivery, JobState.coding)
        if job is None:
            return
        task = CodingTask(job.goal, job.plan_markdown, job.attempt, feedback_of(delivery.event))
        outcome = await self.coder.code(task)

        def decide(job: Job, cause: Cause) -> None:
            for p in outcome.patches:
                job.change_files(cause, p.patch, p.paths)
            job.finish_coding(cause, outcome.summary)

        await delivery.react(decide)
