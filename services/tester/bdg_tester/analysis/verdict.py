"""From what each project's install and test run left to one TestRun for the job (pure).

Totals add up over the projects of a repository; coverage is weighted by lines; the analysis
covers the failing projects, and says which test files the tester scaffolded (they live only in
its workspace, so the coder must add them to its patches to keep them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bdg_contracts.events import BeforeStatus, TestResults
from bdg_tester.analysis.analyze import analyze
from bdg_tester.analysis.exercised import changed_code, ran_files, unexercised, unexercised_note
from bdg_tester.analysis.fail_to_pass import ProjectRun
from bdg_tester.analysis.model import Analysis, Phase, RunOutput
from bdg_tester.detection.projects import Project
from bdg_tester.domain import TestRun
from bdg_tester.results.console_counts import console_counts
from bdg_tester.results.coverage import CoverageReport

MAX_ANALYSIS = 6_000
MAX_TAIL = 2_000


@dataclass(frozen=True)
class ProjectOutcome:
    project: Project
    total: int
    failed: int
    runner_ok: bool  # installed, and the test command exited 0 within its time
    analysis: Analysis
    output: str = ""
    coverage: CoverageReport | None = None
    run: RunOutput | None = None  # what the install or the tests left, per test when read

    def as_run(self) -> ProjectRun:
        """The outcome as the fail-to-pass check compares it: each test, or why none ran."""
        run = self.run
        cases = run.report.cases if run is not None and run.report is not None else ()
        failure: BeforeStatus | None = None
        if run is not None and run.phase is Phase.install:
            failure = "install failed"
        elif run is not None and run.timed_out:
            failure = "timed out"
        elif not self.runner_ok and not cases:
            failure = "crashed"
        detail = self.analysis.summary if failure else ""
        return ProjectRun(self.project.root, cases, self.runner_ok, failure, detail[:300])

    @property
    def ok(self) -> bool:
        return self.runner_ok and self.failed == 0 and self.total > 0

    @property
    def label(self) -> str:
        root = "." if self.project.root in ("", ".") else self.project.root
        return f"`{root}` ({self.project.kind.value}, {self.project.framework.value})"


def install_failed(
    project: Project, run: RunOutput, files: Sequence[str] = (), budget: int = 4_000
) -> ProjectOutcome:
    analysis = analyze(run, project_files=files, max_chars=budget)
    return ProjectOutcome(project, 0, 0, False, analysis, _text(run), run=run)


def after_run(
    project: Project,
    run: RunOutput,
    coverage: CoverageReport | None = None,
    files: Sequence[str] = (),
    budget: int = 4_000,
) -> ProjectOutcome:
    """Counts from the report; else from the console summary; else none (nothing is guessed)."""
    if run.report is not None and run.report.cases:
        total, failed = run.report.totals.total, run.report.totals.unsuccessful
    else:
        counts = console_counts(_text(run))
        total, failed = (counts.total, counts.failed) if counts else (0, 0)
    runner_ok = run.exit_code == 0 and not run.timed_out
    analysis = analyze(run, project_files=files, max_chars=budget)
    return ProjectOutcome(project, total, failed, runner_ok, analysis, _text(run), coverage, run)


def _text(run: RunOutput) -> str:
    return run.stdout + ("\n" if run.stdout and run.stderr else "") + run.stderr


def combine(
    outcomes: Sequence[ProjectOutcome],
    notes: Sequence[str] = (),
    changed: Sequence[str] = (),
    added: Sequence[str] = (),
) -> TestRun:
    """`notes`: what the tester did or skipped beyond running (scaffolded files, projects left
    out), one line each. `changed`: the paths the job's change touches, `added` those it
    creates; tests that pass without running any of its code, or without loading a Python
    module it adds, are no pass."""
    results = TestResults(
        total=sum(o.total for o in outcomes),
        failed=sum(o.failed for o in outcomes),
        coverage=_coverage([o.coverage for o in outcomes if o.coverage is not None]),
        output_tail=_tail(outcomes, notes),
    )
    runner_passed = bool(outcomes) and all(o.runner_ok for o in outcomes)
    run = TestRun(results, runner_passed)
    if run.passed:
        reports = [(o.project.root, o.coverage) for o in outcomes if o.coverage is not None]
        ran = ran_files(reports)
        stray = unexercised(changed, ran, added)
        if stray:
            none_ran = ran is not None and not any(p in ran for p in changed_code(changed))
            note = unexercised_note(stray, none_ran)
            return TestRun(results, runner_passed, note, unexercised=stray)
        return run
    return TestRun(results, runner_passed, _markdown(outcomes, notes))


def _coverage(reports: Sequence[CoverageReport]) -> float | None:
    measured = [r for r in reports if r.percent is not None]
    if not measured:
        return None
    lines = sum(r.lines_total for r in measured)
    if lines and all(r.lines_total for r in measured):
        return round(100 * sum(r.lines_covered for r in measured) / lines, 2)
    return round(sum(r.percent or 0.0 for r in measured) / len(measured), 2)


def _tail(outcomes: Sequence[ProjectOutcome], notes: Sequence[str]) -> str:
    head = "".join(f"[bdg] {note}\n" for note in notes)
    room = max(MAX_TAIL - len(head), 200) // max(len(outcomes), 1)
    parts = []
    for o in outcomes:
        text = o.output.strip()[-room:]
        parts.append(f"[{o.label}]\n{text}" if len(outcomes) > 1 else text)
    return (head + "\n".join(parts))[-MAX_TAIL:] if parts else head


def _markdown(outcomes: Sequence[ProjectOutcome], notes: Sequence[str]) -> str:
    failing = [o for o in outcomes if not o.ok]
    if not outcomes:
        body = (
            "## Test analysis\n\nNo project to test was found in the workspace: no package.json, "
            "pyproject.toml, setup.py, requirements*.txt, Cargo.toml, go.mod, pom.xml, "
            "build.gradle or Makefile with a test target."
        )
    elif len(outcomes) == 1:
        body = outcomes[0].analysis.markdown
    else:
        head = f"## Test analysis\n\n{len(failing)} of {len(outcomes)} projects failed."
        sections = [
            f"### Project {o.label}\n\n"
            + o.analysis.markdown.removeprefix("## Test analysis\n\n").replace("\n### ", "\n#### ")
            for o in failing
        ]
        body = "\n\n".join([head, *sections])
    if notes:
        body += "\n\n### What the tester did\n\n" + "\n".join(f"- {n}" for n in notes)
    return body[:MAX_ANALYSIS]


def budget_for(failing_projects: int) -> int:
    """Markdown characters for each project's analysis, so all of them fit."""
    return max(1_200, (MAX_ANALYSIS - 600) // max(failing_projects, 1))
