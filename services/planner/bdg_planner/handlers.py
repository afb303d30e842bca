"""The planner's subscribers: JobRequested -> plan, TestsPassed -> review."""

from __future__ import annotations

from dataclasses import dataclass

from bdg_contracts import events as ev
from bdg_contracts.states import Step
from bdg_planner.application import Planning
from bdg_runtime.reactions import AnyReaction, Delivery, Reaction


@dataclass(frozen=True)
class PlannerHandlers:
    planning: Planning

    async def job_requested(self, delivery: Delivery[ev.JobRequested]) -> None:
        await self.planning.plan(delivery)

    async def tests_passed(self, delivery: Delivery[ev.TestsPassed]) -> None:
        await self.planning.review(delivery)

    def reactions(self) -> list[AnyReaction]:
        return [
            Reaction(event=ev.JobRequested, step=Step.planning, handle=self.job_requested),
            Reaction(event=ev.TestsPassed, step=Step.reviewing, handle=self.tests_passed),
        ]
