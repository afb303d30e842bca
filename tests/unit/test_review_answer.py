"""The reviewer's answer always ends: its notes are bounded for the decoder, and a verdict
cut in its notes (an endpoint that does not constrain decoding) still counts."""

from __future__ import annotations

import json

import pytest

from bdg_planner.domain import ReviewTask
from bdg_planner.llm_adapters import NOTES_CHARS, REVIEWER_TOKENS, LlmReviewer, salvaged_review
from tests.unit.test_plan_bar import OneAnswer

pytestmark = pytest.mark.timeout(10)
TASK = ReviewTask("fix add() in calc.py", "- [ ] fix add\n", 1, 1, "+x\n")
# The 1.5B's answer of session 18 (js-order-total-discount), cut at the token cap.
LOOPING = (
    '{\n  "approved": true,\n  "score": 10,\n  "notes": "The diff does what the goal asks.'
    + " The diff does not introduce any new localization issues." * 40
)


async def test_the_notes_are_bounded_and_the_longest_answer_fits_the_cap() -> None:
    client = OneAnswer(json.dumps({"approved": True, "score": 9, "notes": "ok"}), 20)
    review = await LlmReviewer(client).review(TASK)
    assert (review.approved, review.score, review.notes) == (True, 9, "ok")
    schema = client.asked[0].schema
    assert schema is not None
    assert schema["properties"]["notes"] == {"type": "string", "maxLength": NOTES_CHARS}
    longest = {"approved": False, "score": 10, "notes": "n" * NOTES_CHARS}
    assert len(json.dumps(longest, indent=2)) <= REVIEWER_TOKENS
    assert client.asked[0].max_tokens == REVIEWER_TOKENS


async def test_a_verdict_cut_in_its_notes_still_counts() -> None:
    review = await LlmReviewer(OneAnswer(LOOPING, REVIEWER_TOKENS)).review(TASK)
    assert (review.approved, review.score) == (True, 10)
    assert review.notes.startswith("The diff does what the goal asks.")
    assert review.notes.endswith("… (the notes were cut)")
    assert len(review.notes) <= NOTES_CHARS + len("… (the notes were cut)")


@pytest.mark.parametrize(
    "content",
    [
        '{"approved": true, "sco',  # the verdict itself cut
        '{"score": 10, "approved": true, "notes": "x',  # not in the schema's order
        '{"approved": true, "score": 11, "notes": "x',  # out of range
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
