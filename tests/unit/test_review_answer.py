"""The reviewer checks each requirement of the goal before its verdict; a change is approved only
when every one is met. Its answer always ends: every string is bounded for the decoder, and a
verdict cut in its notes (an endpoint that does not constrain decoding) still counts."""

from __future__ import annotations

import json

import pytest

from bdg_planner.domain import ReviewTask
from bdg_planner.llm_adapters import LlmReviewer
from bdg_planner.review_answer import (
    CUT,
    HOW_CHARS,
    NOTES_CHARS,
    reviewer_tokens,
    salvaged_review,
)
from tests.unit.test_plan_bar import OneAnswer

pytestmark = pytest.mark.timeout(10)
# Two requirements (goal_clauses): the change and its empty-string case.
GOAL = "Extend load() with a port read from PORT: an int, 8000 when PORT is unset or empty."
TASK = ReviewTask(GOAL, "- [ ] add the port\n", 1, 1, "+x\n")
# The 1.5B's answer of session 18 (js-order-total-discount), cut at the token cap.
LOOPING = (
    '{\n  "checks": [{"how": "ok", "met": true}, {"how": "ok", "met": true}],\n'
    '  "approved": true,\n  "score": 10,\n  "notes": "The diff does what the goal asks.'
    + " The diff does not introduce any new localization issues."
    * 40
)


def answer(*met: bool, approved: bool = True, notes: str = "ok") -> str:
    checks = [{"how": "int(os.environ['PORT'])", "met": m} for m in met]
    return json.dumps({"checks": checks, "approved": approved, "score": 9, "notes": notes})


async def test_every_requirement_met_and_approved_is_an_approval() -> None:
    client = OneAnswer(answer(True, True), 20)
    review = await LlmReviewer(client).review(TASK)
    assert (review.approved, review.score, review.notes) == (True, 9, "ok")
    prompt = client.asked[0].messages[1].content
    assert "1. Extend load() with a port read from PORT\n" in prompt
    assert "2. an int, 8000 when PORT is unset or empty." in prompt


async def test_one_unmet_requirement_rejects_an_approval_and_leads_the_notes() -> None:
    review = await LlmReviewer(OneAnswer(answer(True, False), 20)).review(TASK)
    assert (review.approved, review.score) == (False, 9)
    assert review.notes == (
        "Not done: an int, 8000 when PORT is unset or empty. (int(os.environ['PORT'])) ok"
    )


async def test_a_rejection_with_every_requirement_met_stays_a_rejection() -> None:
    review = await LlmReviewer(OneAnswer(answer(True, True, approved=False), 20)).review(TASK)
    assert not review.approved


async def test_the_schema_asks_one_check_per_requirement_before_the_verdict() -> None:
    client = OneAnswer(answer(True, True), 20)
    await LlmReviewer(client).review(TASK)
    schema = client.asked[0].schema
    assert schema is not None
    assert list(schema["properties"]) == ["checks", "approved", "score", "notes"]
    checks = schema["properties"]["checks"]
    assert (checks["minItems"], checks["maxItems"]) == (2, 2)
    assert schema["properties"]["notes"] == {"type": "string", "maxLength": NOTES_CHARS}


async def test_an_answer_with_the_wrong_number_of_checks_is_a_rejection() -> None:
    review = await LlmReviewer(OneAnswer(answer(True), 20)).review(TASK)
    assert (review.approved, review.score) == (False, 1)
    assert review.notes.startswith("the reviewer's answer was not valid")


@pytest.mark.parametrize("requirements", [1, 2, 6])
async def test_the_longest_answer_fits_the_cap(requirements: int) -> None:
    longest = {
        "checks": [{"how": "h" * HOW_CHARS, "met": False}] * requirements,
        "approved": False,
        "score": 10,
        "notes": "n" * NOTES_CHARS,
    }
    assert len(json.dumps(longest, indent=2)) <= reviewer_tokens(requirements)
    client = OneAnswer(answer(True, True), 20)
    await LlmReviewer(client).review(TASK)
    assert client.asked[0].max_tokens == reviewer_tokens(2)


async def test_a_verdict_cut_in_its_notes_still_counts() -> None:
    review = await LlmReviewer(OneAnswer(LOOPING, reviewer_tokens(2))).review(TASK)
    assert (review.approved, review.score) == (True, 10)
    assert review.notes.startswith("The diff does what the goal asks.")
    assert review.notes.endswith(CUT)
    assert len(review.notes) <= NOTES_CHARS + len(CUT)


def test_a_cut_answer_with_an_unmet_check_is_a_rejection() -> None:
    cut = '{"checks": [{"how": "x", "met": false}], "approved": true, "score": 8, "notes": "y'
    review = salvaged_review(cut)
    assert review is not None
    assert (review.approved, review.score) == (False, 8)
    assert review.notes.startswith("a requirement was said not met")


@pytest.mark.parametrize(
    "content",
    [
        '{"checks": [], "approved": true, "sco',  # the verdict itself cut
        '{"checks": [], "score": 10, "approved": true, "notes": "x',  # not in the schema's order
        '{"checks": [], "approved": true, "score": 11, "notes": "x',  # out of range
        "The change looks right.",  # prose
    ],
)
async def test_an_answer_without_a_whole_verdict_is_a_rejection_that_says_why(
    content: str,
) -> None:
    review = await LlmReviewer(OneAnswer(content, 30)).review(TASK)
    assert (review.approved, review.score) == (False, 1)
    assert review.notes.startswith("the reviewer's answer was not valid")
    assert salvaged_review(content) is None
