"""The reviewer's answer (pure): one check per requirement of the goal, then the verdict, every
string bounded so the whole answer fits its token cap; and the review it comes to.

The checks come first so a small model has looked at each requirement before it decides: asked
only for a verdict, the 1.5B approved changes that did one clause of the goal and not another
(``goal_clauses``). A change is approved only when the reviewer approves it and says every
requirement is met; the unmet ones, with what the reviewer saw, lead the notes the coder gets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import cache
from typing import Annotated

from pydantic import BaseModel, Field, create_model

from bdg_planner.domain import Review

NOTES_CHARS = 300  # what the diff does and what the goal still lacks: a few sentences
# Bounded for the decoder alone, as a critique's sentences are: the 1.5B approved a change
# (score 10) and its notes then looped ("The diff does not introduce any new localization
# issues. ...") to the 400-token cap; cut mid-JSON, the approval was read as no verdict and
# the job went back to the coder, which broke the change that passed every hidden test.
Notes = Annotated[str, Field(json_schema_extra={"maxLength": NOTES_CHARS})]
HOW_CHARS = 100  # how the diff does one requirement, or what it lacks: one short sentence
How = Annotated[str, Field(json_schema_extra={"maxLength": HOW_CHARS})]
# The JSON around the strings, and the whitespace a grammar lets between its parts.
_VERDICT_JSON_CHARS = len('{"checks": [], "approved": false, "score": 10, "notes": ""}') + 48
_CHECK_JSON_CHARS = len('{"how": "", "met": false}, ') + 24
_VERDICT = re.compile(r'"approved"\s*:\s*(true|false)\s*,\s*"score"\s*:\s*(\d+)\s*,')
_UNMET = re.compile(r'"met"\s*:\s*false')
CUT = "… (the notes were cut)"


class Check(BaseModel):
    how: How
    met: bool


class ReviewAnswer(BaseModel):
    checks: list[Check]
    approved: bool
    score: int = Field(ge=1, le=10)
    notes: Notes


@cache
def answer_for(requirements: int) -> type[ReviewAnswer]:
    """The answer with exactly one check per requirement (the grammar counts them)."""
    checks = Annotated[list[Check], Field(min_length=requirements, max_length=requirements)]
    return create_model(f"ReviewAnswer{requirements}", __base__=ReviewAnswer, checks=(checks, ...))


def reviewer_tokens(requirements: int) -> int:
    """A cap the longest answer fits (a token is at least a character): a review always ends."""
    return requirements * (HOW_CHARS + _CHECK_JSON_CHARS) + NOTES_CHARS + _VERDICT_JSON_CHARS


def review_of(answer: ReviewAnswer, requirements: Sequence[str]) -> Review:
    unmet = [
        f"Not done: {need} ({check.how.strip() or 'no reason given'})"
        for need, check in zip(requirements, answer.checks, strict=True)
        if not check.met
    ]
    notes = " ".join([*unmet, answer.notes.strip()]).strip()
    return Review(answer.approved and not unmet, answer.score, notes)


def salvaged_review(content: str) -> Review | None:
    """The verdict of a review cut after it (an endpoint that does not constrain decoding):
    ``approved`` and ``score`` whole, in that order; a check said unmet before it rejects.
    None when there is no whole verdict, or when the answer is whole JSON (not cut: wrong)."""
    try:
        json.loads(content)
    except ValueError:
        pass
    else:
        return None
    found = _VERDICT.search(content)
    if found is None or not 1 <= int(found[2]) <= 10:
        return None
    unmet = _UNMET.search(content, 0, found.start()) is not None
    notes = content[found.end() :].strip()
    notes = notes.removeprefix('"notes"').lstrip(" :").removeprefix('"')[:NOTES_CHARS]
    said = "a requirement was said not met. " if unmet else ""
    return Review(found[1] == "true" and not unmet, int(found[2]), f"{said}{notes}{CUT}")
