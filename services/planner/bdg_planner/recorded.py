"""The planner answered from a recorded script (``BDG_ANSWERS_FILE``: tests, the demo): its
sections of the script (``plan {drafts[], critiques[]}`` and ``review[]``), and the planner and
reviewer that read them; drafts and critiques are chosen by iteration, reviews by round."""

from __future__ import annotations

from pydantic import Field

from bdg_planner.adapters import AbstractPlanner, AbstractReviewer
from bdg_planner.domain import Critique, CritiqueTask, DraftTask, Review, ReviewTask
from bdg_runtime.answers import Answer, Answers, Scripts, ScriptView, pick


class CritiqueAnswer(Answer):
    score: int = Field(ge=1, le=10)
    risks: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()


class PlanAnswers(Answer):
    drafts: tuple[str, ...] = Field(min_length=1)
    critiques: tuple[CritiqueAnswer, ...] = Field(min_length=1)


class ReviewAnswer(Answer):
    approved: bool
    score: int = Field(ge=1, le=10)
    notes: str = ""


class PlannerScript(ScriptView):
    """The planner's sections of a recorded script."""

    plan: PlanAnswers
    review: tuple[ReviewAnswer, ...] = Field(min_length=1)


class RecordedPlanner(AbstractPlanner):
    def __init__(self, answers: Answers) -> None:
        self.scripts: Scripts[PlannerScript] = answers.read(PlannerScript)

    async def draft(self, task: DraftTask) -> str:
        return pick(self.scripts.script_for(task.goal).plan.drafts, task.iteration)

    async def critique(self, task: CritiqueTask) -> Critique:
        c = pick(self.scripts.script_for(task.goal).plan.critiques, task.iteration)
        return Critique(score=c.score, risks=c.risks, changes=c.changes)


class RecordedReviewer(AbstractReviewer):
    def __init__(self, answers: Answers) -> None:
        self.scripts: Scripts[PlannerScript] = answers.read(PlannerScript)

    async def review(self, task: ReviewTask) -> Review:
        r = pick(self.scripts.script_for(task.goal).review, task.round)
        return Review(approved=r.approved, score=r.score, notes=r.notes)
