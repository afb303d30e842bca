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


def git_diff(path: str, removed: str, added: str) -> str:
    return (
        f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
        f"@@ -1 +1 @@\n-{removed}\n+{added}\n"
    )


def test_the_source_files_come_before_the_tests_each_in_the_order_written() -> None:
    test_first = git_diff("tests/test_count.py", "-- old assert", "assert count('A a') == 2")
    source = git_diff("count.py", "return len(words)", "return len(set(words))")
    later_test = git_diff("test/count.test.js", "it('a')", "it('b')")
    later_source = git_diff("count.py", "return len(set(words))", "return len({w.lower()})")
    change = job_change([test_first + source, later_test + later_source])
    assert change == source + later_source + test_first + later_test


def test_a_patch_the_reader_cannot_cut_stays_whole_and_in_place() -> None:
    odd = "some text before any file\n" + git_diff("tests/test_x.py", "a", "b")
    source = git_diff("x.py", "a", "b")
    assert job_change([odd, source]) == odd + source
