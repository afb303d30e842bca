"""The planner's ports answered by a language model (any OpenAI-compatible endpoint, the
offline local model, or the replay of a job's recorded calls). Every call is noted in the
handler's journal so the job records it (LlmCalled) with the reaction."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, Field

from bdg_llm.api import ChatRequest, LlmAnswerError, LlmClient, Message, Role
from bdg_llm.journal import note
from bdg_planner import prompts
from bdg_planner.adapters import AbstractPlanner, AbstractReviewer
from bdg_planner.domain import (
    Critique,
    CritiqueTask,
    DraftTask,
    Review,
    ReviewTask,
    as_checklist,
)
from bdg_planner.plan_steps import (
    DRAFT_TOKENS,
    PlanAnswer,
    PlanFormat,
    salvaged_steps,
    steps_checklist,
)

CRITIQUE_ITEMS = 3  # risks, and changes
SENTENCE_CHARS = 100  # a risk or a change: one short sentence
# A bound for the decoder alone (the local server's grammar ends a sentence there): the 1.5B,
# looping inside one change ("Also, add a check ... Also, add a check ..."), ran to the token
# cap and its critique, cut mid-JSON, was no verdict. Not validated: a longer sentence from an
# endpoint that does not constrain decoding still counts.
Sentence = Annotated[str, Field(json_schema_extra={"maxLength": SENTENCE_CHARS})]
# {"score": 10, "risks": [], "changes": []} and per sentence its quotes, comma and space.
_CRITIQUE_JSON_CHARS = len('{"score": 10, "risks": [], "changes": []}') + 2 * CRITIQUE_ITEMS * 4
# A token is at least one character, so the whole answer fits: a critique always ends.
CRITIC_TOKENS = 2 * CRITIQUE_ITEMS * SENTENCE_CHARS + _CRITIQUE_JSON_CHARS


class CritiqueAnswer(BaseModel):
    # At most three of each, each one bounded sentence (the grammar enforces both locally), so
    # a critique fits CRITIC_TOKENS: cut mid-JSON it is no verdict.
    score: int = Field(ge=1, le=10)
    risks: list[Sentence] = Field(max_length=CRITIQUE_ITEMS)
    changes: list[Sentence] = Field(max_length=CRITIQUE_ITEMS)


NOTES_CHARS = 300  # what the diff does and what the goal still lacks: a few sentences
# Bounded for the decoder alone, as a critique's sentences are: the 1.5B approved a change
# (score 10) and its notes then looped ("The diff does not introduce any new localization
# issues. ...") to the 400-token cap; cut mid-JSON, the approval was read as no verdict and
# the job went back to the coder, which broke the change that passed every hidden test.
Notes = Annotated[str, Field(json_schema_extra={"maxLength": NOTES_CHARS})]
# The JSON around the notes, and the whitespace a grammar lets between its parts.
_REVIEW_JSON_CHARS = len('{"approved": false, "score": 10, "notes": ""}') + 48
REVIEWER_TOKENS = NOTES_CHARS + _REVIEW_JSON_CHARS  # a token is at least a character
_VERDICT = re.compile(r'^\s*\{\s*"approved"\s*:\s*(true|false)\s*,\s*"score"\s*:\s*(\d+)\s*,')


class ReviewAnswer(BaseModel):
    approved: bool
    score: int = Field(ge=1, le=10)
    notes: Notes


def salvaged_review(content: str) -> Review | None:
    """The verdict of a review cut after it (an endpoint that does not constrain decoding):
    ``approved`` and ``score`` whole, in that order, before anything else; None otherwise."""
    found = _VERDICT.match(content)
    if found is None or not 1 <= int(found[2]) <= 10:
        return None
    notes = content[found.end() :].strip()
    notes = notes.removeprefix('"notes"').lstrip(" :").removeprefix('"')[:NOTES_CHARS]
    return Review(found[1] == "true", int(found[2]), f"{notes}… (the notes were cut)")


def _request(role: Role, system: str, user: str, max_tokens: int) -> ChatRequest:
    return ChatRequest(
        role=role,
        messages=(Message("system", system), Message("user", user)),
        max_tokens=max_tokens,
    )


def critique_failure(error: LlmAnswerError, max_tokens: int) -> str:
    """Why the critic's answer gave no verdict, for the person who now sees the plan."""
    if error.result.completion_tokens >= max_tokens:
        return (
            f"the critic's answer was cut at its {max_tokens}-token limit before its JSON "
            "ended: no verdict"
        )
    return f"the critic's answer was not valid: {error}"


class LlmPlanner(AbstractPlanner):
    def __init__(
        self, client: LlmClient, max_tokens: int = 600, plan_format: PlanFormat = "checklist"
    ) -> None:
        self.client, self.max_tokens, self.plan_format = client, max_tokens, plan_format

    def recorded(self) -> dict[str, str]:
        return {"plan_format": self.plan_format} if self.plan_format != "checklist" else {}

    async def draft(self, task: DraftTask) -> str:
        if self.plan_format == "steps":
            return await self._draft_steps(task)
        request = _request("planner", prompts.PLANNER, prompts.draft_prompt(task), self.max_tokens)
        result = await self.client.chat(request)
        note("planner", result)
        return as_checklist(result.content)

    async def _draft_steps(self, task: DraftTask) -> str:
        """A few short steps, bounded by the schema (never cut at the token cap)."""
        prompt = prompts.draft_prompt(task)
        # The cap the schema's bound needs (a token is at least a character): never cut.
        request = _request("planner", prompts.PLANNER_STEPS, prompt, DRAFT_TOKENS)
        try:
            answer, result = await self.client.structured(request, PlanAnswer)
        except LlmAnswerError as error:
            # An endpoint that does not constrain decoding: keep the steps it wrote, if any
            # (none: an empty plan, which the critic scores and a person then sees).
            note("planner", error.result)
            return steps_checklist(salvaged_steps(error.result.content))
        note("planner", result)
        return steps_checklist(answer.steps)

    async def critique(self, task: CritiqueTask) -> Critique:
        request = _request("critic", prompts.CRITIC, prompts.critique_prompt(task), CRITIC_TOKENS)
        try:
            answer, result = await self.client.structured(request, CritiqueAnswer)
        except LlmAnswerError as error:
            # Recorded; no verdict, so the loop stops and a person sees the plan (scored 1 and
            # looping, the critic cut at max_tokens never let the loop end early).
            note("critic", error.result)
            return Critique(score=1, failure=critique_failure(error, CRITIC_TOKENS))
        note("critic", result)
        return Critique(answer.score, tuple(answer.risks), tuple(answer.changes))


class LlmReviewer(AbstractReviewer):
    def __init__(self, client: LlmClient) -> None:
        self.client = client

    async def review(self, task: ReviewTask) -> Review:
        prompt = prompts.review_prompt(task)
        request = _request("reviewer", prompts.REVIEWER, prompt, REVIEWER_TOKENS)
        try:
            answer, result = await self.client.structured(request, ReviewAnswer)
        except LlmAnswerError as error:
            note("reviewer", error.result)
            salvaged = salvaged_review(error.result.content)
            return salvaged or Review(
                approved=False, score=1, notes=f"the reviewer's answer was not valid: {error}"
            )
        note("reviewer", result)
        return Review(approved=answer.approved, score=answer.score, notes=answer.notes)
