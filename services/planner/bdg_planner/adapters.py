"""The planner's outside world: a plan writer, a critic and a reviewer (models, later).

The model-driven ones are in llm_adapters.py; recorded answers (``BDG_ANSWERS_FILE``) in
recorded.py.
"""

from __future__ import annotations

import abc

from bdg_planner.domain import Critique, CritiqueTask, DraftTask, Review, ReviewTask


class AbstractPlanner(abc.ABC):
    @abc.abstractmethod
    async def draft(self, task: DraftTask) -> str:
        """A markdown checkbox plan for the goal, revised after ``task.feedback``."""

    @abc.abstractmethod
    async def critique(self, task: CritiqueTask) -> Critique: ...

    def recorded(self) -> dict[str, str]:
        """What the job records of how this planner drafts (a replay drafts the same way):
        what is not the default."""
        return {}


class AbstractReviewer(abc.ABC):
    @abc.abstractmethod
    async def review(self, task: ReviewTask) -> Review: ...
