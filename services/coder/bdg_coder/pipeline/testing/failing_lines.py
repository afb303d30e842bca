"""The source lines a failing test run points at (pure), quoted for the next attempt.

The tester's analysis says where each test failed (``test/words.test.js:11``) and what it
expected, but not the line itself: a small model shown "expected '1 apple', got 'apple'" for a
place it cannot see resent the same definition on the agent bench. The line holds the call and
its expected result (``assert.equal(pluralize(1, "apple", "apples"), "1 apple")``), which says
what to change better than any summary.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

MAX_LINES = 6  # quoted lines; the analysis lists the failures in order of importance
MAX_CHARS = 200  # of one quoted line
# `test/words.test.js:11`, `tests/test_lru.py:42`, `File "/workspace/lru.py", line 3`
_PLACE = re.compile(
    r"(?:/workspace/)?((?:[\w.-]+/)*[\w.-]+\.(?:py|js|mjs|cjs|ts|tsx|jsx)):(\d+)"
    r'|File "(?:/workspace/)?((?:[\w.-]+/)*[\w.-]+\.py)", line (\d+)'
)


def failing_lines(feedback: str, files: Mapping[str, str]) -> list[tuple[str, int, str]]:
    """(path, line number, the line stripped) of each place ``feedback`` names in ``files``,
    in order of first mention, without repeats or blank lines."""
    found: list[tuple[str, int, str]] = []
    for match in _PLACE.finditer(feedback):
        path = match.group(1) or match.group(3)
        number = int(match.group(2) or match.group(4))
        lines = files.get(path, "").splitlines()
        if not 1 <= number <= len(lines) or (path, number) in {(p, n) for p, n, _ in found}:
            continue
        text = lines[number - 1].strip()
        if text:
            found.append((path, number, text[:MAX_CHARS]))
        if len(found) >= MAX_LINES:
            break
    return found


def quoted(feedback: str, files: Mapping[str, str]) -> str:
    """The paragraph quoting them ("" when the feedback names no line of these files)."""
    found = failing_lines(feedback, files)
    if not found:
        return ""
    lines = "\n".join(f"- `{path}:{number}`: `{text}`" for path, number, text in found)
    return f"The lines the failures point at:\n{lines}"
