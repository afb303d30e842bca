"""The planner's outside world: a plan writer, a critic and a reviewer (models, later).

Recorded answers (``BDG_ANSWERS_FILE``) here; the model-driven ones are in llm_adapters.py.
"""

from __future__ import annotations

import abc

from bdg_planner.domain import Critique, CritiqueTask, DraftTask, Review, ReviewTask
from bdg_runtime.answers import Answers, pick


class AbstractPlanner(abc.ABC):
    @abc.abstractmethod
    async def draft(self, task: DraftTask) -> str:
        """A markdown checkbox plan for the goal, revised after ``task.feedback``."""

    @abc.abstractmethod
    async def critique(self, task: CritiqueTask) -> Critique: ...


class AbstractReviewer(abc.ABC):
    @abc.abstractmethod
    async def review(self, task: ReviewTask) -> Review: ...


class RecordedPlanner(AbstractPlanner):
    def __init__(self, answers: Answers) -> None:
        self.answers = answers

    async def draft(self, task: DraftTask) -> str:
        return pick(self.answers.script_for(task.goal).plan.drafts, task.iteration)

    async def critique(self, task: CritiqueTask) -> Critique:
        c = pick(self.answers.script_for(task.goal).plan.critiques, task.iteration)
        return Critique(score=c.score, risks=c.risks, changes=c.changes)


class RecordedReviewer(AbstractReviewer):
    def __init__(self, answers: Answers) -> None:
        self.answers = answers

    async def review(self, task: ReviewTask) -> Review:
        r = pick(self.answers.script_for(task.goal).review, task.round)
        return Review(approved=r.approved, score=r.score, notes=r.notes)
