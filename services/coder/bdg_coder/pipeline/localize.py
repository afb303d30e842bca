"""Which files the pipeline shows the model (pure): the files the goal and plan name, then (on a
retry) those the failing test output names, then the files of the index's hits by rank; at most
``MAX_FILES``, each cut so all fit ``budget`` characters."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bdg_coder.domain import paths_named
from bdg_contracts.tool_events import CodeHit

MAX_FILES = 4

# A source path in test output: `File "/workspace/app/calc.py", line 3`, `test/sum.test.js:12:5`,
# `tests/test_x.py::test_y`. The sandbox's mount point is taken off; site-packages are not ours.
_OUTPUT_PATH = re.compile(
    r"(?<![\w.-])(?:/workspace/)?((?:[\w.-]+/)*[\w.-]+\.(?:py|js|mjs|cjs|ts|tsx|jsx))(?![\w/])"
)
_NOT_OURS = ("site-packages/", "node_modules/", "lib/python", "internal/", "node:")


def paths_in_output(output: str) -> list[str]:
    """The repository's files a test run's output names, in order of first mention."""
    found: list[str] = []
    for match in _OUTPUT_PATH.finditer(output):
        path = match.group(1)
        start = output.rfind("\n", 0, match.start()) + 1
        line = output[start : match.end()]
        if path.startswith(("/", "..")) or any(part in line for part in _NOT_OURS):
            continue
        if path not in found:
            found.append(path)
    return found


def candidates(goal: str, plan: str, feedback: str, hits: Sequence[CodeHit]) -> list[str]:
    """The files to show, best first, deduplicated (not yet known to exist)."""
    ranked: list[str] = []
    by_score = sorted(hits, key=lambda hit: -hit.score)
    hit_paths = [hit.path.removeprefix("/workspace/") for hit in by_score]
    for path in [*paths_named(goal, plan), *paths_in_output(feedback), *hit_paths]:
        if path and path not in ranked:
            ranked.append(path)
    return ranked


def fit(files: Sequence[tuple[str, str]], budget: int) -> list[tuple[str, str]]:
    """The first ``MAX_FILES`` files, in order, while they fit ``budget`` characters; the one
    that reaches it is cut at a line end (noted), those after it are left out."""
    shown: list[tuple[str, str]] = []
    for path, content in files[:MAX_FILES]:
        if budget <= 0:
            break
        if len(content) > budget:
            head = content[:budget]
            head = head[: head.rfind("\n") + 1] or head
            content = f"{head}[... cut: {len(content) - len(head)} more characters]\n"
        shown.append((path, content))
        budget -= len(content)
    return shown
