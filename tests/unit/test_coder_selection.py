"""Test-driven selection on recorded candidates: real pytest, Jest, node:test and unittest
output tails, and the broken candidates small models produce (answers that never parse, edits
that never apply, whole-file rewrites that drop functions, tests that error at collection)."""

from __future__ import annotations

import pytest

from bdg_coder.selecting.ranking import (
    TestsRun,
    Tried,
    choose,
    counts_of,
    diff_lines,
    dropped_definitions,
    outcome_of,
)

pytestmark = pytest.mark.timeout(10)

FIX = """diff --git a/calc.py b/calc.py
--- a/calc.py
+++ b/calc.py
@@ -1,4 +1,4 @@
 def add(a, b):
-    return a - b
+    return a + b
 def mul(a, b):
     return a * b
"""
# A whole-file rewrite that fixes add() and loses mul().
DROPS_MUL = """diff --git a/calc.py b/calc.py
--- a/calc.py
+++ b/calc.py
@@ -1,4 +1,2 @@
 def add(a, b):
-    return a - b
-def mul(a, b):
-    return a * b
+    return a + b
"""
# The same fix, plus a rename of mul that keeps it defined.
REWRITE = """diff --git a/calc.py b/calc.py
--- a/calc.py
+++ b/calc.py
@@ -1,4 +1,5 @@
 def add(a, b):
-    return a - b
-def mul(a, b):
-    return a * b
+    return a + b
+
+def mul(x, y):
+    return x * y
"""
STRAY = """diff --git a/new/helper.py b/new/helper.py
new file mode 100644
--- /dev/null
+++ b/new/helper.py
@@ -0,0 +1,2 @@
+def add(a, b):
+    return a + b
"""
PYTEST_ONE_FAILED = (
    "test_calc.py:3: AssertionError\n"
    "=========================== short test summary info ============================\n"
    "FAILED test_calc.py::test_add - assert -1 == 5\n"
    "1 failed, 1 passed in 0.05s\n"
)
PYTEST_PASSED = ".." + " " * 71 + "[100%]\n2 passed in 0.02s\n"
PYTEST_COLLECTION_ERROR = (
    "E   ImportError: cannot import name 'mul' from 'calc' (/workspace/calc.py)\n"
    "=========================== short test summary info ============================\n"
    "ERROR test_calc.py\n"
    "!!!!!!!!!!!!!!!!!!!! Interrupted: 1 error during collection !!!!!!!!!!!!!!!!!!!!\n"
    "1 error in 0.35s\n"
)


def run(passed: bool, tail: str) -> TestsRun:
    return TestsRun(passed, tail)


@pytest.mark.parametrize(
    ("tests", "counts"),
    [
        (run(False, PYTEST_ONE_FAILED), (1, 1)),
        (run(True, PYTEST_PASSED), (2, 0)),
        (run(False, PYTEST_COLLECTION_ERROR), (0, 1)),  # one error, not one per line naming it
        (
            run(False, "Tests:       1 failed, 3 passed, 4 total\nSnapshots:   0 total\n"),
            (3, 1),
        ),
        (run(False, "# tests 4\n# suites 0\n# pass 3\n# fail 1\n# cancelled 0\n"), (3, 1)),
        (run(False, "Ran 4 tests in 0.001s\n\nFAILED (failures=1, errors=1)\n"), (2, 2)),
        (run(True, "Ran 2 tests in 0.000s\n\nOK\n"), (2, 0)),
        (run(True, "all good\n"), (1, 0)),  # no counts: the exit status is one test
        (run(False, "Traceback (most recent call last):\nSyntaxError\n"), (0, 1)),
    ],
)
def test_the_counts_are_read_from_the_runners_summary(
    tests: TestsRun, counts: tuple[int, int]
) -> None:
    assert counts_of(tests) == counts


def test_diff_size_and_dropped_definitions() -> None:
    assert diff_lines(FIX) == 2
    assert dropped_definitions(FIX) == []
    assert dropped_definitions(DROPS_MUL) == ["mul"]
    assert dropped_definitions(REWRITE) == []  # defined again
    js = "--- a/m.js\n+++ b/m.js\n-export function slug(s) {\n-function pad(n) {\n"
    js += "+function pad(n) {\n"
    assert dropped_definitions(js) == ["slug"]


def test_the_candidate_passing_the_visible_tests_is_kept_over_the_first() -> None:
    tried = [
        Tried(
            1,
            ("calc.py",),
            STRAY.replace("new/helper.py", "calc.py"),
            run(False, PYTEST_ONE_FAILED),
        ),
        Tried(2, ("calc.py",), FIX, run(True, PYTEST_PASSED)),
    ]
    outcomes = [outcome_of(t) for t in tried]
    assert [(o.passed, o.failed, o.tests_passed) for o in outcomes] == [(1, 1, False), (2, 0, True)]
    assert choose(outcomes).index == 2


def test_broken_candidates_rank_below_a_working_one() -> None:
    tried = [
        # every answer unparseable: the loop ended with nothing changed (the base fails)
        Tried(1, (), "", run(False, PYTEST_ONE_FAILED)),
        # its edits never applied, and the tests could not be run at all
        Tried(2, (), "", None, "sandbox: command timed out after 600 s"),
        # a rewrite that drops mul(): the tests error at collection
        Tried(3, ("calc.py",), DROPS_MUL, run(False, PYTEST_COLLECTION_ERROR)),
        Tried(4, ("calc.py",), FIX, run(True, PYTEST_PASSED)),
    ]
    outcomes = [outcome_of(t) for t in tried]
    assert outcomes[0].note == "changed nothing"
    assert (
        outcomes[1].note == "changed nothing; tests not run: sandbox: command timed out after 600 s"
    )
    assert outcomes[1].tests_passed is None
    assert outcomes[2].note == "drops mul"
    assert choose(outcomes).index == 4
    # Without the working one: a change beats none, even one whose tests error.
    assert choose(outcomes[:3]).index == 3


def test_a_change_that_passes_nothing_more_still_beats_no_change() -> None:
    nothing = outcome_of(Tried(1, (), "", run(False, PYTEST_ONE_FAILED)))
    stray = outcome_of(Tried(2, ("new/helper.py",), STRAY, run(False, PYTEST_ONE_FAILED)))
    assert choose([nothing, stray]).index == 2


def test_ties_go_to_the_change_that_keeps_definitions_then_the_smaller_one() -> None:
    green = run(True, PYTEST_PASSED)
    drops = outcome_of(Tried(1, ("calc.py",), DROPS_MUL, green))
    rewrite = outcome_of(Tried(2, ("calc.py",), REWRITE, green))
    fix = outcome_of(Tried(3, ("calc.py",), FIX, green))
    assert choose([drops, rewrite]).index == 2  # a smaller diff, but mul() is gone
    assert choose([drops, rewrite, fix]).index == 3  # the smallest that keeps everything
    again = outcome_of(Tried(4, ("calc.py",), FIX, green))
    assert choose([again, fix]).index == 3  # the same change: the lower index, every replay


def test_more_passing_tests_win_over_a_green_run_with_fewer() -> None:
    # candidate 2 deleted two of the tests: green, but fewer tests pass
    many = outcome_of(Tried(1, ("calc.py",), FIX, run(False, "1 failed, 5 passed in 0.1s\n")))
    fewer = outcome_of(Tried(2, ("test_calc.py",), FIX, run(True, "3 passed in 0.1s\n")))
    assert choose([fewer, many]).index == 1


def test_no_candidates_is_an_error() -> None:
    with pytest.raises(ValueError, match="no candidates"):
        choose([])
