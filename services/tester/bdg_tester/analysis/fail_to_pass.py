"""Fail-to-pass: do the change's tests prove anything about it (pure)?

A small model's change can pass the tests it wrote itself and still not do what the goal asks
(the tests pass on the old code too). SWE-bench and Agentless judge a fix by its FAIL_TO_PASS
tests: tests that fail without the change and pass with it. The tester runs the change's test
files on the base code as well (runner.py); this module decides what to run there (the change's
test files alone) and what the two runs prove.

The rule for "the goal asks for a behaviour change" is plain, never a model's call: the change
touches a source file (a code file that is not a test) and the goal does not read as a refactor
(`NO_BEHAVIOUR`). Such a change needs a test that fails on the base and passes on it: one of
its own, or one the project had already (a bug fix its tests caught); a change of tests, docs or
configuration alone needs none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from bdg_contracts.events import BeforeStatus, FailToPass, FlippedTest
from bdg_contracts.patch_files import file_sections
from bdg_contracts.source_kinds import is_test_path
from bdg_tester.analysis.exercised import CODE_SUFFIXES, changed_code
from bdg_tester.domain import TestRun
from bdg_tester.results.outcomes import Status, TestCase

# Words that say a goal keeps behaviour as it is: its tests pass before and after by design.
NO_BEHAVIOUR = re.compile(
    r"\b(refactor\w*|renam\w*|restructur\w*|reorgani[sz]\w*|clean(?:s|ed|ing)?[ -]?up|tidy|"
    r"typos?|docstrings?|reformat\w*)\b",
    re.IGNORECASE,
)
TEST_SUFFIXES = CODE_SUFFIXES | {".go", ".rs"}
MAX_LISTED = 50


def patches_of_tests(patches: Iterable[str]) -> tuple[str, ...]:
    """The job's patches cut down to their test files (tests, fixtures, conftest), in order:
    each still applies to the base plus the ones before it, since a file's diff depends only
    on that file's earlier diffs."""
    kept = []
    for patch in patches:
        text = "".join(body for path, body in file_sections(patch) if is_test_path(path))
        if text:
            kept.append(text)
    return tuple(kept)


def changed_tests(paths: Iterable[str]) -> tuple[str, ...]:
    """The change's files that hold tests (not their helpers: conftest.py defines none)."""
    return tuple(
        p
        for p in paths
        if is_test_path(p)
        and PurePosixPath(p).suffix in TEST_SUFFIXES
        and PurePosixPath(p).name != "conftest.py"
    )


def needs_proof(goal: str, paths: Sequence[str]) -> str:
    """Why the change needs a test that fails without it ("": it needs none)."""
    code = changed_code(paths)
    if not code:
        return ""
    if NO_BEHAVIOUR.search(goal):
        return ""
    return f"the change touches source code ({', '.join(code[:5])})"


def before_the_check(goal: str, paths: Sequence[str]) -> FailToPass | None:
    """The verdict when the base need not run (None: run the tests on the base)."""
    tests = changed_tests(paths)
    why = needs_proof(goal, paths)
    if not why:
        words = NO_BEHAVIOUR.search(goal)
        note = (
            f"the goal reads as a change of no behaviour ({words.group(0)!r})"
            if words and changed_code(paths)
            else "the change touches no source code"
        )
        return FailToPass(verdict="not_required", test_files=tests, note=note)
    return None  # even with no test of its own: the project's tests may prove it (a bug fix)


@dataclass(frozen=True)
class ProjectRun:
    """One project's tests, as one run left them: the cases, or why there are none."""

    root: str
    cases: tuple[TestCase, ...] = ()
    ok: bool = True  # installed, and the test command exited 0 within its time
    failure: BeforeStatus | None = None  # the run as a whole: "install failed", "crashed"...
    detail: str = ""  # that failure's telling line


def _statuses(run: ProjectRun) -> dict[str, Status]:
    return {f"{run.root}:{c.id}": c.status for c in run.cases}


def _dotted(path: str) -> str:
    return path.rsplit(".", 1)[0].replace("/", ".") if "." in PurePosixPath(path).name else path


def _in_files(root: str, case: TestCase, files: Sequence[str]) -> bool:
    """Whether the test is defined in one of ``files`` (workspace paths): by the file the
    runner names, else by its suite (pytest's ``tests.test_x``, vitest's ``x.test.js``)."""
    prefix = "" if root in ("", ".") else root.rstrip("/") + "/"
    own = [f.removeprefix(prefix) for f in files if f.startswith(prefix)]
    if case.file and case.file in own:
        return True
    named = f"{case.file or ''} {case.suite}".replace("/", ".")
    return any(_dotted(f) in named for f in own)


def flipped(
    after: Sequence[ProjectRun], before: Mapping[str, ProjectRun], files: Sequence[str] = ()
) -> list[FlippedTest]:
    """Tests that pass on the change and did not on the base, with how they did there. A test
    that failed or errored on the base counts wherever it is. A test the base run does not
    list counts only when it is in the change's test files ``files`` (any test, when none of
    the passing ones can be placed in them) and that run went wrong: pytest stops a whole
    session on one file it cannot import, so the base's other tests are missing too, though
    they would pass there; a whole run that failed (the install, the runner crashed, the time
    limit) counts the same way."""
    found: list[FlippedTest] = []
    for project in after:
        base = before.get(project.root)
        then = _statuses(base) if base is not None else {}
        broken = (
            base is None
            or not base.ok
            or any(s in (Status.failed, Status.error) for s in then.values())
        )
        passing = [c for c in project.cases if c.status is Status.passed]
        placed = [c for c in passing if _in_files(project.root, c, files)]
        missing_may_count = {c.id for c in (placed or passing)}
        for case in passing:
            status = then.get(f"{project.root}:{case.id}")
            was: BeforeStatus | None = None  # passed (or was skipped) on the base too
            if status in (Status.failed, Status.error):
                was = "failed" if status is Status.failed else "error"
            elif status is None and case.id in missing_may_count and broken:
                whole = base is not None and base.failure is not None and not then
                was = base.failure if whole and base is not None else "not run"
            if was is not None:
                found.append(FlippedTest(test=_test_id(project.root, case.id), before=was))
    return found


def _test_id(root: str, test: str) -> str:
    named = test if root in ("", ".") else f"{root}: {test}"
    return named[:500]


def judge(
    paths: Sequence[str], after: Sequence[ProjectRun], before: Mapping[str, ProjectRun]
) -> FailToPass:
    """The verdict once the change's tests ran on the base code too."""
    tests = changed_tests(paths)
    flips = flipped(after, before, tests)
    base_notes = [
        f"{r.root}: the run on the base {r.failure}" + (f" ({r.detail})" if r.detail else "")
        for r in before.values()
        if r.failure is not None
    ]
    told = "; ".join(base_notes)
    if not flips and not tests:
        code = ", ".join(changed_code(paths)[:5])
        note = (
            f"the change touches source code ({code}) and adds or changes no test, and no test "
            "of the project fails without it"
        )
        return FailToPass(verdict="no_test", note=_bounded(note, told))
    if not flips:
        note = "no test of the change fails without it: the tests prove nothing about the goal"
        return FailToPass(verdict="not_proven", test_files=tests, note=_bounded(note, told))
    collected = [f for f in flips if f.before == "not run"]
    note = f"{len(flips)} test(s) fail on the base code and pass on the change"
    if collected and not base_notes:
        note += "; on the base some of them could not even be collected (an import failed?)"
    return FailToPass(
        verdict="proven",
        tests=tuple(flips[:MAX_LISTED]),
        test_files=tests,
        note=_bounded(note, told),
    )


def _bounded(note: str, told: str) -> str:
    return (note + (f"; {told}" if told else ""))[:2000]


def refusal(check: FailToPass) -> str:
    """The analysis the coder gets when the check refuses the change ("" when it does not)."""
    if check.verdict == "no_test":
        return (
            "## Test analysis\n\nThe tests passed, but the change adds no test: "
            f"{check.note}. Add a test that shows the goal's behaviour: one that fails on the "
            "code as it was and passes with your change."
        )
    if check.verdict == "not_proven":
        listed = ", ".join(f"`{p}`" for p in check.test_files[:10])
        return (
            "## Test analysis\n\nThe tests passed, but no test of the change fails without it: "
            "the tests prove nothing about the goal. Every test in "
            f"{listed or 'the change'} passes on the code as it was too. Write a test that "
            "checks what the goal asks for (it must fail on the old code), and make it pass."
            + (f"\n\n({check.note.split('; ', 1)[1]})" if "; " in check.note else "")
        )
    return ""


def summary(check: FailToPass) -> str:
    """One line for the output tail and the attempts' view."""
    tests = ", ".join(f"{f.test} ({f.before} before)" for f in check.tests[:5])
    more = f" +{len(check.tests) - 5} more" if len(check.tests) > 5 else ""
    return f"fail-to-pass {check.verdict.replace('_', ' ')}: {check.note}" + (
        f": {tests}{more}" if tests else ""
    )


def with_check(run: TestRun, check: FailToPass) -> TestRun:
    """The run with the check's verdict in its results (and its tail); a refused change fails
    the run with the check's analysis, as any failure goes back to the coder."""
    tail = f"[bdg] {summary(check)}\n{run.results.output_tail}"
    results = run.results.model_copy(update={"fail_to_pass": check, "output_tail": tail})
    checked = replace(run, results=results)
    return replace(checked, analysis=refusal(check)) if checked.unproven else checked
