"""Where in the test files each failing test stopped (pure), to see a repair move on.

A resample is kept when the tests go better, and "better" counted tests: on the agent bench
(session 23) the 1.5B's refactor lost "/posts/" from post_url() and "/tags/" from tag_url(),
both checked by one test; the resample put "/posts/" back, the test then failed one line
further on, at tag_url(), and the step was put back as no better. A failing test whose
failure moved to a later line of the same file has passed the assertions before it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Where a failing test's block starts: TAP's "not ok", pytest's "____ test_x ____" header,
# unittest's "FAIL: test_x (...)" / "ERROR: ...".
_START = re.compile(r"^\s*not ok \d+ - |^_{3,} .+? _{3,}$|^(?:FAIL|ERROR): ")
# Where a block ends without another starting: TAP's plan and totals, pytest's summary rule.
_END = re.compile(r"^\d+\.\.\d+$|^# (?:tests|pass|fail) \d|^={3,} .*(?:summary|passed|failed)")
# `tests/test_urls.py:6: AssertionError`, `file:///workspace/test/x.test.js:18:10`,
# `File "/workspace/tests/test_urls.py", line 6, in test_urls`
_PLACE = re.compile(
    r"(?:/workspace/)?((?:[\w.-]+/)*[\w.-]+\.(?:py|js|mjs|cjs|ts|tsx|jsx)):(\d+)"
    r'|File "(?:/workspace/)?((?:[\w.-]+/)*[\w.-]+\.py)", line (\d+)'
)


def failure_points(output: str, is_test: Callable[[str], bool]) -> list[tuple[str, int]]:
    """(test file, line) where each failing test of ``output`` stopped, sorted: per failing
    test's block, the last line of a test file it names (its assertion, after TAP's location
    of the test itself); blocks naming no test file are left out."""
    points: list[tuple[str, int]] = []
    block: list[tuple[str, int]] | None = None
    for line in output.splitlines():
        if _START.match(line) or _END.match(line.strip()):
            if block:
                points.append(max(block))
            block = [] if _START.match(line) else None
            continue
        if block is None:
            continue
        for match in _PLACE.finditer(line):
            path = match.group(1) or match.group(3)
            if is_test(path):
                block.append((path, int(match.group(2) or match.group(4))))
    if block:
        points.append(max(block))
    return sorted(points)


def moved_on(before: list[tuple[str, int]], after: list[tuple[str, int]]) -> bool:
    """Whether the failures of ``after`` stopped later than those of ``before``: as many
    failing tests, in the same files, none earlier and one at least later."""
    if not before or len(before) != len(after):
        return False
    pairs = list(zip(before, after, strict=True))
    if any(b[0] != a[0] or a[1] < b[1] for b, a in pairs):
        return False
    return any(a[1] > b[1] for b, a in pairs)
