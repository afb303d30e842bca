"""Test-driven selection, apart from any I/O: which of several candidate attempts to keep.

Each candidate ran the coder's loop in a workspace of its own; its change was taken as a diff
and the visible tests were run on it. The kept one passes the most proven tests of
all candidates (``cross_check``, when run), then has the most passing tests, then the fewest
failing ones, then drops no definition the base had (small models rewrite whole files and lose
functions), then the smallest change; a candidate that changed nothing ranks last, and the
lowest index breaks the last tie, so the choice is the same on every replay.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bdg_contracts.events import CandidateOutcome

# Test runners' summary lines: pytest ("1 failed, 3 passed in 0.05s", "1 error in 0.35s") and
# Jest ("Tests: 1 failed, 3 passed, 4 total"), read from the last such line; node:test and TAP
# ("# pass 3", "# fail 1"); unittest ("Ran 4 tests", then "FAILED (failures=1, errors=1)").
_SUMMARY = re.compile(r"\b\d+ (?:passed|failed|errors?)\b")
_COUNT = re.compile(r"\b(\d+) (passed|failed|errors?)\b")
_TAP = re.compile(r"^# (pass|fail) (\d+)\s*$", re.MULTILINE)
_UNITTEST_FAILED = re.compile(r"(?:failures|errors)=(\d+)")
_UNITTEST_RAN = re.compile(r"^Ran (\d+) tests?", re.MULTILINE)
DROPS = "drops"  # the note of a candidate that removes definitions
# A removed definition line: Python def/class, JavaScript function/class.
_DEFINITION = re.compile(
    r"^[-+]\s*(?:async\s+)?(?:def|class|function|export\s+(?:default\s+)?(?:async\s+)?"
    r"(?:function|class))\s+([A-Za-z_$][\w$]*)"
)


@dataclass(frozen=True)
class TestsRun:
    """What the visible tests said in a candidate's workspace."""

    __test__ = False  # not a pytest class

    passed: bool
    output_tail: str


@dataclass(frozen=True)
class Tried:
    """One candidate: its change, and its test run (None: the tests could not be run)."""

    index: int
    paths: tuple[str, ...]
    patch: str
    tests: TestsRun | None
    error: str = ""  # why the tests could not be run


def counts_of(tests: TestsRun) -> tuple[int, int]:
    """(passed, failed) as the run's summary says (errors count as failed); a run whose
    output names no counts counts as one test, passed or failed by its exit status."""
    tail = tests.output_tail
    summaries = [line for line in tail.splitlines() if _SUMMARY.search(line)]
    tap = _TAP.findall(tail)
    ran = _UNITTEST_RAN.findall(tail)
    if summaries:
        counts = _COUNT.findall(summaries[-1])
        passed = sum(int(n) for n, what in counts if what == "passed")
        return passed, sum(int(n) for n, what in counts if what != "passed")
    if tap:
        last = dict((what, int(n)) for what, n in tap)  # the last of each: the totals
        return last.get("pass", 0), last.get("fail", 0)
    if ran:
        failed = sum(int(n) for n in _UNITTEST_FAILED.findall(tail))
        return max(0, int(ran[-1]) - failed), failed
    return (1, 0) if tests.passed else (0, 1)


def diff_lines(patch: str) -> int:
    """Lines added plus lines removed."""
    return sum(
        1
        for line in patch.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++ ", "--- "))
    )


def dropped_definitions(patch: str) -> list[str]:
    """Functions and classes the change removes without defining again."""
    removed: list[str] = []
    added: set[str] = set()
    for line in patch.splitlines():
        if line.startswith(("+++ ", "--- ")):
            continue
        match = _DEFINITION.match(line)
        if match is None:
            continue
        if line.startswith("-"):
            removed.append(match.group(1))
        else:
            added.add(match.group(1))
    return [name for name in removed if name not in added]


def outcome_of(tried: Tried) -> CandidateOutcome:
    notes: list[str] = []
    if not tried.paths:
        notes.append("changed nothing")
    if dropped := dropped_definitions(tried.patch):
        notes.append(f"{DROPS} {', '.join(dropped[:10])}")
    if tried.tests is None:
        notes.append(f"tests not run: {tried.error}"[:500])
        passed, failed, green = 0, 0, None
    else:
        passed, failed = counts_of(tried.tests)
        green = tried.tests.passed
    return CandidateOutcome(
        index=tried.index,
        paths=tried.paths,
        diff_lines=diff_lines(tried.patch),
        tests_passed=green,
        passed=passed,
        failed=failed,
        note="; ".join(notes),
    )


def _rank(
    outcome: CandidateOutcome, agrees: Mapping[int, int]
) -> tuple[bool, int, int, int, bool, bool, int, int]:
    """Smaller is better."""
    return (
        not outcome.paths,
        -agrees.get(outcome.index, 0),
        -outcome.passed,
        outcome.failed,
        outcome.tests_passed is not True,
        f"{DROPS} " in outcome.note,
        outcome.diff_lines,
        outcome.index,
    )


def choose(
    outcomes: Sequence[CandidateOutcome], agrees: Mapping[int, int] | None = None
) -> CandidateOutcome:
    """The candidate to keep; ``agrees``: how many proven tests pass on each candidate's code
    (``cross_check``), which counts before its own visible tests."""
    if not outcomes:
        raise ValueError("no candidates to choose from")
    return min(outcomes, key=lambda outcome: _rank(outcome, agrees or {}))
