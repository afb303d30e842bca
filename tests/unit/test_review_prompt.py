"""The reviewer judges the change against the goal: it is shown the diff, and asked so."""

from __future__ import annotations

import pytest

from bdg_planner.domain import ReviewTask, job_change
from bdg_planner.prompts import MAX_CHANGE_CHARS, REVIEWER, review_prompt

pytestmark = pytest.mark.timeout(10)
STRAY = "--- /dev/null\n+++ b/helpers/mul_fix.py\n@@ -0,0 +1 @@\n+def mul(a, b): return a * b\n"
TEST = "--- /dev/null\n+++ b/tests/test_mul.py\n@@ -0,0 +1 @@\n+def test_mul(): pass"


def test_the_reviewer_sees_the_whole_change_and_checks_it_against_the_goal() -> None:
    change = job_change([STRAY, "", TEST])
    assert change == STRAY + TEST + "\n"
    prompt = review_prompt(ReviewTask("fix mul in calc/ops.py", "- [ ] fix mul\n", 1, 2, change))
    assert "+++ b/helpers/mul_fix.py" in prompt
    assert "+++ b/tests/test_mul.py" in prompt
    assert prompt.endswith("Does the diff do what the goal asks?")
    assert "nothing imports" in REVIEWER
    assert "Passing tests are not enough" in REVIEWER


def test_no_change_is_said_and_a_long_one_is_cut_saying_so() -> None:
    assert "(the attempt changed no file)" in review_prompt(ReviewTask("g", "p", 1, 1))
    long = "+x\n" * MAX_CHANGE_CHARS
    prompt = review_prompt(ReviewTask("g", "p", 1, 1, long))
    assert f"[... {len(long) - MAX_CHANGE_CHARS} more characters]" in prompt
