"""The coder's subscribers: an approved plan, failed tests or a rejecting review start an
attempt."""

from __future__ import annotations

from dataclasses import dataclass

from bdg_coder.application import Coding
from bdg_coder.domain import needs_rework
from bdg_contracts import events as ev
from bdg_contracts.states import Step
from bdg_runtime.reactions import AnyReaction, Delivery, Reaction


@dataclass(frozen=True)
class CoderHandlers:
    coding: Coding

    async def plan_approved(self, delivery: Delivery[ev.PlanApproved]) -> None:
        await self.coding.attempt(delivery)

    async def tests_failed(self, delivery: Delivery[ev.TestsFailed]) -> None:
        await self.coding.attempt(delivery)

    async def review_completed(self, delivery: Delivery[ev.ReviewCompleted]) -> None:
        if needs_rework(delivery.event):  # an approving review is the deployer's
            await self.coding.attempt(delivery)

    def reactions(self) -> list[AnyReaction]:
        return [
            Reaction(event=ev.PlanApproved, step=Step.coding, handle=self.plan_approved),
            Reaction(event=ev.TestsFailed, step=Step.coding, handle=self.tests_failed),
            Reaction(event=ev.ReviewCompleted, step=Step.coding, handle=self.review_completed),
        ]
