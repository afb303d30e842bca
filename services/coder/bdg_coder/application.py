"""Coder use case: one coding attempt, recorded as FilesChanged per patch then CodingFinished.

The model calls of the attempt are recorded (LlmCalled) with that reaction. An attempt that
stops short (a gated tool call waits for a person, the job was paused or cancelled meanwhile,
a model or sandbox outage) records its model calls aside at once: paid for, never lost, and
taken again by the attempt's next run (``Parked``).
"""

from __future__ import annotations

import logging

from bdg_coder.adapters import AbstractCoder, Session
from bdg_coder.domain import (
    Changes,
    CodingTask,
    feedback_of,
    parked_of,
    recipe_of,
    workspace_name,
)
from bdg_contracts import events as ev
from bdg_contracts.states import JobState
from bdg_jobs.domain import Cause, Job
from bdg_jobs.errors import DomainError
from bdg_jobs.ledger.errors import BudgetExhaustedError
from bdg_llm.api import ChatResult
from bdg_llm.job_models import job_models
from bdg_llm.journal import journal
from bdg_llm.llm_called_fields import fields_for_event
from bdg_runtime.budget_suspension import spender_of, suspend_for_budget
from bdg_runtime.metered_llm import paying
from bdg_runtime.reactions import Delivery
from bdg_tools.spec import ToolContext

log = logging.getLogger(__name__)

# The events that start an attempt: an approved plan, failed tests, a rejecting review.
Trigger = ev.PlanApproved | ev.TestsFailed | ev.ReviewCompleted


def record_calls(job: Job, cause: Cause, calls: list[tuple[str, ChatResult]]) -> None:
    for role, result in calls:
        job.record_llm_call(cause, **fields_for_event(result, role))


class Coding:
    def __init__(self, coder: AbstractCoder) -> None:
        self.coder = coder

    async def attempt(self, delivery: Delivery[Trigger]) -> None:
        job = await delivery.job_to_work_on(JobState.coding)
        if job is None:
            return
        history = await delivery.history()
        trigger = delivery.event
        task = CodingTask(
            job.goal,
            job.plan_markdown,
            job.attempt,
            feedback_of(trigger),
            recipe_of(history),
            parked_of(history, trigger, delivery.service),
        )
        workspace = workspace_name(job.job_id, job.attempt)
        session = Session(
            delivery.app, ToolContext.for_event(trigger, delivery.service, workspace=workspace)
        )
        with journal() as calls, job_models(job.models), paying(spender_of(job)):
            try:
                outcome = await self.coder.code(task, session)
            except BudgetExhaustedError as refused:  # the calls paid so far wait for the raise
                await self._park(session, calls)
                await suspend_for_budget(delivery, [], refused)
                return
            except DomainError as error:  # paused or cancelled meanwhile: a resume re-drives
                log.info("job %s moved on during attempt %d: %s", job.job_id, job.attempt, error)
                await self._park(session, calls)
                return
            except BaseException:
                await self._park(session, calls)
                raise
        if outcome.waiting is not None:
            await self._park(session, calls, outcome.waiting)
            return
        settings = self.coder.settings()
        await delivery.react(lambda job, cause: self._decide(job, cause, calls, outcome, settings))
        if delivery.dropped:
            await self._park(session, calls)  # what was paid for stays; a resume re-drives
            return
        await self._release(task, session)

    @staticmethod
    def _decide(
        job: Job,
        cause: Cause,
        calls: list[tuple[str, ChatResult]],
        o: Changes,
        settings: dict[str, str],
    ) -> None:
        job.record_settings(cause, cause.producer, settings)  # a replay re-runs with them
        record_calls(job, cause, calls)
        if o.compared:
            job.compare_candidates(cause, o.chosen, o.compared)
        for p in o.patches:
            job.change_files(cause, p.patch, p.paths)
        job.finish_coding(cause, o.summary, o.base_commit)

    @staticmethod
    async def _park(
        session: Session, calls: list[tuple[str, ChatResult]], cause_id: str | None = None
    ) -> None:
        """Record the calls made so far aside (best effort when something else failed)."""
        if not calls:
            return
        try:
            await session.record_aside(lambda job, cause: record_calls(job, cause, calls), cause_id)
        except Exception:
            log.exception("the attempt's %d model calls could not be recorded", len(calls))

    async def _release(self, task: CodingTask, session: Session) -> None:
        try:
            await self.coder.release(task, session)
        except Exception as error:  # a workspace left behind is no failure of the step
            log.warning("workspace %s not dropped: %s", session.tool_ctx.workspace, error)
