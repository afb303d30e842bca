"""The planner's ports answered by a language model (any OpenAI-compatible endpoint, the
offline local model, or the replay of a job's recorded calls). Every call is noted in the
handler's journal so the job records it (LlmCalled) with the reaction."""

from __future__ import annotations

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


class CritiqueAnswer(BaseModel):
    # At most three of each (the grammar enforces it locally), so a critique fits its 400
    # tokens: cut mid-JSON it is no verdict.
    score: int = Field(ge=1, le=10)
    risks: list[str] = Field(max_length=3)
    changes: list[str] = Field(max_length=3)


class ReviewAnswer(BaseModel):
    approved: bool
    score: int = Field(ge=1, le=10)
    notes: str


def _request(role: Role, system: str, user: str, max_tokens: int) -> ChatRequest:
    return ChatRequest(
        role=role,
        messages=(Message("system", system), Message("user", user)),
        max_tokens=max_tokens,
    )


CRITIC_TOKENS = 400


def critique_failure(error: LlmAnswerError, max_tokens: int) -> str:
    """Why the critic's answer gave no verdict, for the person who now sees the plan."""
    if error.result.completion_tokens >= max_tokens:
        return (
            f"the critic's answer was cut at its {max_tokens}-token limit before its JSON "
            "ended: no verdict"
        )
    return f"the critic's answer was not valid: {error}"


class LlmPlanner(AbstractPlanner):
    def __init__(self, client: LlmClient, max_tokens: int = 600) -> None:
        self.client, self.max_tokens = client, max_tokens

    async def draft(self, task: DraftTask) -> str:
        request = _request("planner", prompts.PLANNER, prompts.draft_prompt(task), self.max_tokens)
        result = await self.client.chat(request)
        note("planner", result)
        return as_checklist(result.content)

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
        request = _request("reviewer", prompts.REVIEWER, prompts.review_prompt(task), 400)
        try:
            answer, result = await self.client.structured(request, ReviewAnswer)
        except LlmAnswerError as error:
            note("reviewer", error.result)
            return Review(
                approved=False, score=1, notes=f"the reviewer's answer was not valid: {error}"
            )
        note("reviewer", result)
        return Review(approved=answer.approved, score=answer.score, notes=answer.notes)
