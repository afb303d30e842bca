"""The tester's subscriber: CodingFinished -> a test run."""

from __future__ import annotations

from dataclasses import dataclass

from bdg_contracts import events as ev
from bdg_contracts.states import Step
from bdg_runtime.reactions import AnyReaction, Delivery, Reaction
from bdg_tester.application import Testing


@dataclass(frozen=True)
class TesterHandlers:
    testing: Testing
    timeout: float | None = None  # a sandbox run's own bound; None: the service's step timeout

    async def coding_finished(self, delivery: Delivery[ev.CodingFinished]) -> None:
        await self.testing.run(delivery)

    def reactions(self) -> list[AnyReaction]:
        return [
            Reaction(
                event=ev.CodingFinished,
                step=Step.testing,
                handle=self.coding_finished,
                timeout=self.timeout,
            )
        ]
