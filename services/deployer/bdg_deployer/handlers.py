"""The deployer's subscribers: an approving review, a deploy approval, a rollback request."""

from __future__ import annotations

from dataclasses import dataclass

from bdg_contracts import events as ev
from bdg_contracts.states import Step
from bdg_deployer.application import Deploying
from bdg_deployer.domain import ready_to_ship
from bdg_runtime.reactions import AnyReaction, Delivery, Reaction


@dataclass(frozen=True)
class DeployerHandlers:
    deploying: Deploying

    async def review_completed(self, delivery: Delivery[ev.ReviewCompleted]) -> None:
        if ready_to_ship(delivery.event):  # a rejecting review is the coder's
            await self.deploying.request_approval(delivery)

    async def deploy_approved(self, delivery: Delivery[ev.DeployApproved]) -> None:
        await self.deploying.deploy(delivery)

    async def rollback_requested(self, delivery: Delivery[ev.RollbackRequested]) -> None:
        await self.deploying.roll_back(delivery)

    def reactions(self) -> list[AnyReaction]:
        step = Step.deploying
        return [
            Reaction(event=ev.ReviewCompleted, step=step, handle=self.review_completed),
            Reaction(event=ev.DeployApproved, step=step, handle=self.deploy_approved),
            Reaction(event=ev.RollbackRequested, step=step, handle=self.rollback_requested),
        ]
