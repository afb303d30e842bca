"""Planner use cases: plan a requested job (draft/critique loop), review a tested one."""

from __future__ import annotations

from bdg_contracts import events as ev
from bdg_contracts.states import JobState
from bdg_jobs.domain import Cause, Job
from bdg_jobs.ledger.errors import BudgetExhaustedError
from bdg_jobs.tenants import TenantPolicies
from bdg_llm.api import ChatResult
from bdg_llm.code_context import render_code_context
from bdg_llm.job_models import job_models
from bdg_llm.journal import journal
from bdg_llm.llm_called_fields import fields_for_event
from bdg_planner.adapters import AbstractPlanner, AbstractReviewer
from bdg_planner.domain import (
    CriticPolicy,
    CritiqueTask,
    DraftTask,
    Iteration,
    ReviewTask,
    best_iteration,
    job_change,
    review_round,
)
from bdg_runtime.budget_suspension import spender_of, suspend_for_budget
from bdg_runtime.metered_llm import paying
from bdg_runtime.reactions import Delivery
from bdg_tools.code_context import AbstractCodeContext, NoCodeContext


def record_calls(job: Job, cause: Cause, calls: list[tuple[str, ChatResult]]) -> None:
    """Every model call of the reaction, before its outcome: cost is never lost."""
    for role, result in calls:
        job.record_llm_call(cause, **fields_for_event(result, role))


class Planning:
    def __init__(
        self,
        planner: AbstractPlanner,
        reviewer: AbstractReviewer,
        policy: CriticPolicy,
        tenants: TenantPolicies | None = None,
        code: AbstractCodeContext | None = None,
    ) -> None:
        self.planner, self.reviewer, self.policy = planner, reviewer, policy
        self.tenants = tenants or TenantPolicies()
        self.code = code or NoCodeContext()

    def policy_for(self, tenant_id: str) -> CriticPolicy:
        """The tenant's own bar when it chose one, else the service's."""
        if tenant_id not in self.tenants.tenants:
            return self.policy
        chosen = self.tenants.for_tenant(tenant_id)
        return CriticPolicy(chosen.plan_score_threshold, chosen.plan_max_iterations)

    async def critic_loop(
        self, goal: str, policy: CriticPolicy | None = None, context: str = ""
    ) -> list[Iteration]:
        policy = policy or self.policy
        iterations: list[Iteration] = []
        previous = None
        for number in range(1, policy.max_iterations + 1):
            feedback = previous.critique if previous else None
            plan = await self.planner.draft(
                DraftTask(
                    goal, number, previous.plan_markdown if previous else None, feedback, context
                )
            )
            critique = await self.planner.critique(CritiqueTask(goal, plan, number))
            previous = Iteration(number, plan, critique)
            iterations.append(previous)
            if policy.should_stop(number, critique):
                break
        return iterations

    async def plan(self, delivery: Delivery[ev.JobRequested]) -> None:
        job = await delivery.job_to_work_on(JobState.planning)
        if job is None:
            return
        # Only a job on a repository has code to ground its plan in.
        found = await self.code.retrieve(job.tenant_id, job.repo, job.goal) if job.repo else None
        context = render_code_context(found.hits) if found else ""
        policy = self.policy_for(job.tenant_id)
        with journal() as calls, job_models(job.models), paying(spender_of(job)):
            try:
                iterations = await self.critic_loop(job.goal, policy, context)
            except BudgetExhaustedError as refused:
                await suspend_for_budget(delivery, calls, refused)
                return
        best = best_iteration(iterations)
        ready, meets_bar = best.plan_markdown, policy.meets_bar(best.critique)

        def decide(job: Job, cause: Cause) -> None:
            # for a replay: the critic's bar and how drafts are asked for
            settings = policy.recorded() | self.planner.recorded()
            job.record_settings(cause, cause.producer, settings)
            if found is not None:
                job.record_code_context(
                    cause, query=found.query, repo=found.repo, hits=found.hits, note=found.note
                )
            record_calls(job, cause, calls)
            for it in iterations:
                job.draft_plan(cause, it.plan_markdown, it.number)
                c = it.critique
                job.critique_plan(
                    cause, it.number, c.score, risks=c.risks, changes=c.changes, failure=c.failure
                )
            job.make_plan_ready(cause, ready, meets_bar=meets_bar)

        await delivery.react(decide)

    async def review(self, delivery: Delivery[ev.TestsPassed]) -> None:
        job = await delivery.job_to_work_on(JobState.reviewing)
        if job is None:
            return
        history = await delivery.history()
        patches = [e.patch for e in history if isinstance(e, ev.FilesChanged)]
        task = ReviewTask(
            job.goal,
            job.plan_markdown,
            review_round(job.review_reworks),
            job.attempt,
            job_change(patches),
        )
        with journal() as calls, job_models(job.models), paying(spender_of(job)):
            try:
                review = await self.reviewer.review(task)
            except BudgetExhaustedError as refused:
                await suspend_for_budget(delivery, calls, refused)
                return

        def decide(job: Job, cause: Cause) -> None:
            record_calls(job, cause, calls)
            job.complete_review(
                cause, approved=review.approved, score=review.score, notes=review.notes
            )

        await delivery.react(decide)
