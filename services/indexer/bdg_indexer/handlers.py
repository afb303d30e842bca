"""The indexer's subscribers: RepoRegistered -> full index, RepoPushed -> incremental index."""

from __future__ import annotations

from dataclasses import dataclass

from bdg_contracts import index_events as ix
from bdg_contracts.states import Step
from bdg_indexer.application import Attempt, Indexing
from bdg_runtime.reactions import AnyReaction, Delivery, Reaction

# Reaction names a job step for the runtime's StepFailed; repositories are no job and the
# indexer records its own failures (IndexFailed), so the step is never used.
NO_JOB_STEP = Step.planning


@dataclass(frozen=True)
class IndexerHandlers:
    indexing: Indexing
    max_deliver: int
    timeout: float  # the consumer's limit on one delivery; runs stop a little earlier

    def _attempt(self, number: int) -> Attempt:
        return Attempt(number, last=number >= self.max_deliver)

    async def repo_registered(self, delivery: Delivery[ix.RepoRegistered]) -> None:
        await self.indexing.registered(delivery.event, self._attempt(delivery.attempt))

    async def repo_pushed(self, delivery: Delivery[ix.RepoPushed]) -> None:
        await self.indexing.pushed(delivery.event, self._attempt(delivery.attempt))

    def reactions(self) -> list[AnyReaction]:
        return [
            Reaction(ix.RepoRegistered, NO_JOB_STEP, self.repo_registered, self.timeout),
            Reaction(ix.RepoPushed, NO_JOB_STEP, self.repo_pushed, self.timeout),
        ]
