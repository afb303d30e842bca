"""Coder use case: one coding attempt, recorded as FilesChanged per patch then CodingFinished."""

from __future__ import annotations

from bdg_coder.adapters import AbstractCoder
from bdg_coder.domain import CodingTask, feedback_of
from bdg_contracts.states import JobState
from bdg_jobs.domain import Cause, Job
from bdg_runtime.reactions import Delivery


class Coding:
    def __init__(self, coder: AbstractCoder) -> None:
        self.coder = coder

    async def attempt(self, delivery: Delivery) -> None:
        job = await delivery.job_to_work_on(JobState.coding)
        if job is None:
            return
        task = CodingTask(job.goal, job.plan_markdown, job.attempt, feedback_of(delivery.event))
        outcome = await self.coder.code(task)

        def decide(job: Job, cause: Cause) -> None:
            for p in outcome.patches:
                job.change_files(cause, p.patch, p.paths)
            job.finish_coding(cause, outcome.summary)

        await delivery.react(decide)
