"""Tester use case: run the tests of the latest coding attempt, record passed or failed."""

from __future__ import annotations

from bdg_contracts import events as ev
from bdg_contracts.states import JobState
from bdg_jobs.domain import Cause, Job
from bdg_runtime.reactions import Delivery
from bdg_tester.adapters import AbstractTestRunner
from bdg_tester.domain import files_not_created, not_created, nothing_changed, task_for


class Testing:
    __test__ = False  # not a pytest class

    def __init__(self, runner: AbstractTestRunner) -> None:
        self.runner = runner

    async def run(self, delivery: Delivery[ev.CodingFinished]) -> None:
        job = await delivery.job_to_work_on(JobState.testing)
        if job is None:
            return
        # the workspace: the job's repo at its base ref + its FilesChanged patches, in order
        history = await delivery.history()
        task = task_for(history, delivery.event, job.attempt)
        missing = files_not_created(task.goal, task.patches)
        if not task.changed:
            run = nothing_changed()
        elif missing:
            run = not_created(missing)
        else:
            run = await self.runner.run(task)

        def decide(job: Job, cause: Cause) -> None:
            if run.scaffold_patch:
                job.change_files(cause, run.scaffold_patch, run.scaffold_paths)
            if run.passed:
                job.pass_tests(cause, run.results)
            else:  # the job fails the step itself once its attempts are spent
                job.fail_tests(cause, run.results, run.why_failed)

        await delivery.react(decide)
