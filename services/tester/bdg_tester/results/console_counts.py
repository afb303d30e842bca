"""Test counts read from a runner's console summary: the fallback when it wrote no report.

Only the final summary lines are trusted (the last one of each runner's form in the output);
None when no known summary is there, so a run is never counted from guesses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bdg_tester.results.outcomes import plain


@dataclass(frozen=True)
class Counts:
    total: int
    failed: int  # failed + errors


def _last(pattern: str, text: str) -> re.Match[str] | None:
    found = list(re.finditer(pattern, text, re.M))
    return found[-1] if found else None


def _words(summary: str) -> dict[str, int]:
    """ "1 failed, 2 passed" / "2 passed; 1 failed" -> {"failed": 1, "passed": 2}."""
    return {w.lower(): int(n) for n, w in re.findall(r"(\d+) ([A-Za-z]+)", summary)}


def _node_test(text: str) -> Counts | None:
    # node --test: the TAP ("# tests 3") or spec ("i tests 3", with U+2139) reporter's summary
    tests = _last(r"^(?:#|\u2139) tests (\d+)$", text)
    fail = _last(r"^(?:#|\u2139) fail (\d+)$", text)
    if tests is None or fail is None:
        return None
    return Counts(int(tests[1]), int(fail[1]))


def _pytest(text: str) -> Counts | None:
    line = _last(r"^=+ (.*\d+ (?:passed|failed|errors?|skipped)\b.*) in [\d.]+s", text)
    if line is None:
        return None
    w = _words(line[1])
    failed = w.get("failed", 0) + w.get("error", 0) + w.get("errors", 0)
    total = failed + w.get("passed", 0) + w.get("skipped", 0) + w.get("xfailed", 0)
    return Counts(total + w.get("xpassed", 0), failed)


def _jest(text: str) -> Counts | None:
    line = _last(r"^Tests:\s+(.*\d+ total)", text)
    if line is None:
        return None
    w = _words(line[1])
    return Counts(w["total"], w.get("failed", 0))


def _vitest(text: str) -> Counts | None:
    line = _last(r"^\s*Tests\s+(.*)\((\d+)\)\s*$", text)
    if line is None:
        return None
    return Counts(int(line[2]), _words(line[1]).get("failed", 0))


def _mocha(text: str) -> Counts | None:
    passing = _last(r"^\s*(\d+) passing\b", text)
    if passing is None:
        return None
    failing = _last(r"^\s*(\d+) failing\b", text)
    pending = _last(r"^\s*(\d+) pending\b", text)
    failed = int(failing[1]) if failing else 0
    return Counts(int(passing[1]) + failed + (int(pending[1]) if pending else 0), failed)


def _cargo(text: str) -> Counts | None:
    lines = re.findall(r"^test result: \w+\. (.*)$", text, re.M)
    if not lines:
        return None
    total = failed = 0
    for line in lines:
        w = _words(line)
        failed += w.get("failed", 0)
        total += w.get("passed", 0) + w.get("failed", 0) + w.get("ignored", 0)
    return Counts(total, failed)


_READERS = (_node_test, _pytest, _jest, _vitest, _mocha, _cargo)


def console_counts(output: str) -> Counts | None:
    text = plain(output).replace("\r", "")
    for reader in _READERS:
        found = reader(text)
        if found is not None and found.total >= found.failed:
            return found
    return None
