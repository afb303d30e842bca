"""The planner answered from a recorded script (``BDG_ANSWERS_FILE``: tests, the demo): its
sections of the script (``plan {drafts[], critiques[]}`` and ``review[]``), and the planner and
reviewer that read them; drafts and critiques are chosen by iteration, reviews by round. For a
replay of such a job, ``LoggedPlanner`` answers from what the job's history recorded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from pydantic import Field

from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bdg_planner.adapters import AbstractPlanner, AbstractReviewer
from bdg_planner.domain import Critique, CritiqueTask, DraftTask, Review, ReviewTask
from bdg_runtime.answers import Answer, Answers, Scripts, ScriptView, pick

PRODUCER = "planner"
E = TypeVar("E", ev.PlanDrafted, ev.PlanCritiqued)


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


class MissingAnswerError(LookupError):
    """The job's history holds no answer of the planner's for what a replay asks."""


class LoggedPlanner(AbstractPlanner, AbstractReviewer):
    """For a replay of a job planned from a script: each draft, critique and review as the
    job's history recorded them (a replay never reads the answers file, which may be another
    one now or none at all)."""

    def __init__(self, history: Sequence[Event]) -> None:
        mine = [e for e in history if e.producer == PRODUCER]
        self.drafts = [e for e in mine if isinstance(e, ev.PlanDrafted)]
        self.critiques = [e for e in mine if isinstance(e, ev.PlanCritiqued)]
        self.reviews = [e for e in mine if isinstance(e, ev.ReviewCompleted)]

    async def draft(self, task: DraftTask) -> str:
        return _take(self.drafts, task.iteration, "draft").plan_markdown

    async def critique(self, task: CritiqueTask) -> Critique:
        c = _take(self.critiques, task.iteration, "critique")
        return Critique(score=c.score, risks=c.risks, changes=c.changes, failure=c.failure)

    async def review(self, task: ReviewTask) -> Review:
        if not self.reviews:
            raise MissingAnswerError("no recorded review of the planner's to replay")
        r = self.reviews.pop(0)
        return Review(approved=r.approved, score=r.score, notes=r.notes)


def _take(recorded: list[E], iteration: int, what: str) -> E:
    """The first recorded entry of ``iteration`` (taken: a second planning run gets the next)."""
    for i, e in enumerate(recorded):
        if getattr(e, "iteration", None) == iteration:
            return recorded.pop(i)
    raise MissingAnswerError(f"no recorded {what} of iteration {iteration} to replay")
