"""The markdown form of an analysis, within a character budget, and the sentence it opens with.

Groups come most fundamental first and every group keeps its heading and fix; when the budget
runs out, the remaining failures are counted instead of shown.
"""

from __future__ import annotations

from bdg_tester.analysis.causes import Cause
from bdg_tester.analysis.model import Failure, FailureGroup, Phase, RunOutput

_TRAILER_ROOM = 120


def _code(text: str) -> str:
    return "`" + text.replace("`", "'").replace("\n", " ") + "`"


def _failure(failure: Failure) -> str:
    where = f" at {_code(str(failure.location))}" if failure.location else ""
    if failure.location and failure.called_from:
        where += f", called from {_code(str(failure.called_from))}"
    name = _code(failure.test) if failure.test else "Output"
    lines = [f"- {name}{where}"]
    if failure.expected is not None and failure.actual is not None:
        expected, actual = _code(failure.expected[:150]), _code(failure.actual[:150])
        lines.append(f"  expected {expected}, got {actual}")
    message = [line for line in failure.message.splitlines() if line.strip()][:4]
    if message:
        lines += ["  ```", *(f"  {line[:200]}" for line in message), "  ```"]
    if failure.diff and failure.expected is None:
        diff = failure.diff.splitlines()[:8]
        lines += ["  ```diff", *(f"  {line[:120]}" for line in diff), "  ```"]
    return "\n".join(lines)


def _head(number: int, group: FailureGroup) -> str:
    tests = sum(1 for f in group.failures if f.test)
    noun = f" ({tests} test{'s' if tests != 1 else ''})" if tests else ""
    return f"### {number}. {group.title}{noun}\n\n**Fix:** {group.suggestion}"


def render(summary: str, groups: tuple[FailureGroup, ...], max_chars: int) -> str:
    """Every group's heading and first failure come before any group's second failure, so one
    large group cannot crowd out the others."""
    budget = max(max_chars - _TRAILER_ROOM, 200)
    intro = [f"## Test analysis\n\n{summary}"]
    if len(groups) > 1:
        intro.append("Fix the groups in order: a later group may follow from an earlier one.")
    used = sum(len(p) + 2 for p in intro)
    heads: list[str | None] = []
    for number, group in enumerate(groups, 1):
        head = _head(number, group)
        fits = used + len(head) + 2 <= budget
        heads.append(head if fits else None)
        used += len(head) + 2 if fits else 0
    shown: list[list[str]] = [[] for _ in groups]
    for first_only in (True, False):
        for index, group in enumerate(groups):
            if heads[index] is None:
                continue
            for failure in group.failures[len(shown[index]) :][: 1 if first_only else None]:
                text = _failure(failure)
                if used + len(text) + 1 > budget:
                    break
                shown[index].append(text)
                used += len(text) + 1
    parts = list(intro)
    for heading, texts in zip(heads, shown, strict=True):
        if heading is not None:
            parts.append(heading + ("\n\n" + "\n".join(texts) if texts else ""))
    hidden = sum(len(g.failures) for g in groups) - sum(len(t) for t in shown)
    if hidden:
        parts.append(f"_…and {hidden} more failure{'s' if hidden != 1 else ''} not shown._")
    return "\n\n".join(parts)[:max_chars]


def summary_line(run: RunOutput, groups: tuple[FailureGroup, ...]) -> str:
    """The one sentence an analysis opens with: what ran, and how many failed."""
    if run.phase is Phase.install:
        if not groups:
            return "Dependencies installed."
        if all(g.cause is Cause.dependency for g in groups):
            return "Installing dependencies failed: a dependency problem, not a code problem."
        return "Installing dependencies failed."
    report = run.report
    if report is None:
        exit_code = f" (exit code {run.exit_code})" if run.exit_code is not None else ""
        return f"The test run left no readable results{exit_code}."
    t = report.totals
    if t.total == 0:
        return "No tests ran."
    errors = f"{t.errors} error" + ("s" if t.errors != 1 else "")
    counts = f"{t.failed} failed, {errors}; {t.passed} passed, {t.skipped} skipped"
    if t.unsuccessful:
        return f"{t.unsuccessful} of {t.total} tests failed ({counts})."
    if groups:
        return f"All {t.total} tests passed but the run failed ({counts})."
    return f"All {t.total} tests passed ({counts})."
