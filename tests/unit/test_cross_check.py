"""The cross-check's decisions (selecting/cross_check.py): a change cut into code and tests,
which proven tests each candidate's code passes, and which test it ships with."""

from __future__ import annotations

import pytest

from bdg_coder.selecting.cross_check import agreements, parts_of, sections, shipped_patch
from bdg_coder.selecting.ranking import choose
from bdg_contracts.events import CandidateOutcome

pytestmark = pytest.mark.timeout(10)

CODE = """diff --git a/src/calc.py b/src/calc.py
index 1111111..2222222 100644
--- a/src/calc.py
+++ b/src/calc.py
@@ -1,2 +1,2 @@
 def add(a, b):
-    return a - b
+    return a + b
"""
# A removed line that looks like a header must stay in its section.
TEST = """diff --git a/tests/test_calc.py b/tests/test_calc.py
index 3333333..4444444 100644
--- a/tests/test_calc.py
+++ b/tests/test_calc.py
@@ -1,2 +1,3 @@
 from src.calc import add
-diff --git a/x b/x
+assert add(2, 3) == 5
+assert add(0, 0) == 0
"""
BINARY = """diff --git a/my dir/logo.png b/my dir/logo.png
new file mode 100644
index 0000000..5555555
GIT binary patch
literal 4
LcmZ?wbhEhUB

literal 0
HcmV?d00001

"""
JS_TEST = """diff --git a/src/sum.test.js b/src/sum.test.js
--- a/src/sum.test.js
+++ b/src/sum.test.js
@@ -1 +1,2 @@
 import { sum } from "./sum.js";
+test("empty", () => assert.equal(sum([]), 0));
"""


def test_a_change_is_cut_into_its_files_in_order() -> None:
    found = sections(CODE + TEST + BINARY)
    assert [path for path, _ in found] == ["src/calc.py", "tests/test_calc.py", "my dir/logo.png"]
    assert "".join(text for _, text in found) == CODE + TEST + BINARY
    # "diff --git" inside a hunk is a removed line (it starts with "-"), not a header
    assert found[1][1] == TEST


def test_code_and_tests_are_told_apart_by_path() -> None:
    parts = parts_of(BINARY + TEST + CODE + JS_TEST)
    assert parts.code_paths == ("my dir/logo.png", "src/calc.py")
    assert parts.test_paths == ("tests/test_calc.py", "src/sum.test.js")
    assert parts.code == BINARY + CODE
    assert parts.tests == TEST + JS_TEST
    assert parts_of("").code == parts_of("").tests == ""


def test_the_code_passing_the_most_proven_tests_wins_and_ships_a_proven_test() -> None:
    passes = {(1, 2): True, (1, 3): True, (2, 2): False, (2, 3): True, (3, 3): True}
    found = agreements([1, 2, 3], [2, 3], passes)
    assert [(a.agrees, a.proven, a.test_from) for a in found.values()] == [
        (2, 2, 2),  # its own test is not proven: the lowest proven one passing on it
        (1, 2, 3),  # its own proven test fails on its own code
        (1, 2, 3),  # its own, proven and passing
    ]
    assert found[1].note == "passes 2 of 2 proven tests, ships candidate 2's test"
    assert found[3].note == "passes 1 of 2 proven tests"
    none = agreements([1, 2], [], {})
    assert [(a.agrees, a.test_from, a.note) for a in none.values()] == [(0, 0, ""), (0, 0, "")]


def test_agreement_counts_before_the_visible_tests() -> None:
    own_tests = CandidateOutcome(index=1, paths=("a.py",), tests_passed=True, passed=5)
    agreed = CandidateOutcome(index=2, paths=("a.py",), tests_passed=True, passed=3)
    assert choose([own_tests, agreed]).index == 1
    assert choose([own_tests, agreed], {1: 0, 2: 1}).index == 2
    nothing = CandidateOutcome(index=3, paths=(), tests_passed=True, passed=9)
    assert choose([nothing, own_tests], {3: 5}).index == 1  # changing nothing still ranks last


def test_a_code_ships_with_another_candidate_s_tests_and_only_those() -> None:
    mine, theirs = parts_of(CODE + TEST), parts_of(JS_TEST + CODE)
    patch, paths = shipped_patch(mine, theirs)
    assert patch == CODE + JS_TEST
    assert paths == ("src/calc.py", "src/sum.test.js")
