"""The job's planning decisions, and the records of what a step was shown and what it paid."""

from __future__ import annotations

from collections.abc import Mapping

from bdg_contracts import events as ev
from bdg_contracts import tool_events as tev
from bdg_contracts.events import PlanApproval
from bdg_jobs.aggregate import Cause
from bdg_jobs.job_facts import JobFacts


class PlanningDecisions(JobFacts):
    def draft_plan(self, cause: Cause, plan_markdown: str, iteration: int) -> None:
        self._append(ev.PlanDrafted, cause, plan_markdown=plan_markdown, iteration=iteration)

    def critique_plan(
        self,
        cause: Cause,
        iteration: int,
        score: int,
        risks: tuple[str, ...] = (),
        changes: tuple[str, ...] = (),
        failure: str = "",
    ) -> None:
        self._append(
            ev.PlanCritiqued,
            cause,
            iteration=iteration,
            score=score,
            risks=risks,
            changes=changes,
            failure=failure,
        )

    def make_plan_ready(self, cause: Cause, plan_markdown: str, meets_bar: bool = True) -> None:
        """The plan waits for a person unless the job approves plans itself (the auto policy)
        and the plan met the critic's bar: one below it is never approved unseen."""
        self._append(ev.PlanReady, cause, plan_markdown=plan_markdown)
        if self.plan_approval is PlanApproval.auto and meets_bar:
            self._append(ev.PlanApproved, cause, approved_by="auto")

    def edit_plan(self, cause: Cause, plan_markdown: str) -> None:
        self._append(ev.PlanEdited, cause, plan_markdown=plan_markdown)

    def approve_plan(self, cause: Cause, approved_by: str) -> None:
        self._append(ev.PlanApproved, cause, approved_by=approved_by)

    def record_code_context(
        self,
        cause: Cause,
        *,
        query: str,
        repo: str = "",
        hits: tuple[tev.CodeHit, ...] = (),
        note: str = "",
    ) -> None:
        self._append(tev.CodeContextRetrieved, cause, query=query, repo=repo, hits=hits, note=note)

    def record_llm_call(
        self,
        cause: Cause,
        *,
        role: str,
        model: str,
        request_hash: str,
        response: str,
        prompt_tokens: int,
        completion_tokens: int,
        cost_usd: float,
    ) -> None:
        self._append(
            ev.LlmCalled,
            cause,
            role=role,
            model=model,
            request_hash=request_hash,
            response=response,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=cost_usd,
        )

    def record_settings(self, cause: Cause, service: str, settings: Mapping[str, str]) -> None:
        """Note the settings ``service`` works with unless the job holds the same already
        (nothing recorded: the service's defaults)."""
        if self.service_settings.get(service, {}) == dict(settings):
            return
        self._append(ev.SettingsRecorded, cause, service=service, settings=dict(settings))
