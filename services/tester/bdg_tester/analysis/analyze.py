"""Failure analysis for the coder: what failed, where, grouped by likely cause, how to fix it.

Input is what one run left (the parsed report, the output tails, exit code); output is a
structured `Analysis` and a bounded markdown text. No clock, no randomness: replaying the same
run gives the same text.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from dataclasses import replace

from bdg_tester.analysis.diagnosis import INSTALL_RULES, RUN_RULES, Cause, Diagnosis, diagnose
from bdg_tester.analysis.markdown import render, summary_line
from bdg_tester.analysis.model import Analysis, Failure, FailureGroup, Phase, RunOutput
from bdg_tester.results.locations import Frame, best_frame, calling_frame
from bdg_tester.results.outcomes import TestCase, first_line, plain

TAIL_CHARS = 20_000  # of each stream: errors are at the end, and the rules stay fast
MAX_MARKDOWN = 4_000


_ORDER = list(Cause)  # most fundamental first: fixing a build error may fix everything after it


def _tail(text: str) -> str:
    return text[-TAIL_CHARS:]


def _clip(text: str, limit: int = 300) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_TELLING = re.compile(r"error|ERR!|FAIL|panic|^\S+\.\w+:\d+(?::\d+)?: ", re.I)


def _telling_line(text: str) -> str:
    """The first line that names an error (or a file:line: message), else the last line."""
    lines = [line.strip() for line in plain(text).splitlines() if line.strip()]
    marked = [line for line in lines if _TELLING.search(line)]
    return _clip((marked or lines[-1:] or [""])[0], 200)


def _essence(case: TestCase) -> str:
    """The message worth showing: pytest's `E` lines when its message is only a label."""
    generic = case.message in ("", "collection failure") or case.message.startswith("failed on")
    e_lines = [line[1:].strip() for line in case.trace.splitlines() if line.startswith("E ")]
    if generic and e_lines:
        return "\n".join(e_lines[-4:])
    return "\n".join(case.message.splitlines()[:4]) or first_line(case.trace)


def _local_modules(files: Collection[str]) -> dict[str, str]:
    """Top-level Python modules of the project: name -> where."""
    found: dict[str, str] = {}
    for path in sorted(files):
        parts = path.split("/")
        if parts[-1] == "__init__.py" and len(parts) >= 2:
            found.setdefault(parts[-2], "/".join(parts[:-1]))
        elif parts[-1].endswith(".py"):
            found.setdefault(parts[-1][:-3], path)
    return found


def _import_hint(found: Diagnosis, files: Collection[str]) -> str:
    if found.cause is not Cause.import_error or not files or "/" in found.key:
        return found.hint
    modules = _local_modules(files)
    if found.key in modules:
        return (
            f"`{found.key}` is the project's own module ({modules[found.key]}) but could not be "
            "imported: fix the import path, or make it importable (install the project, e.g. "
            "`pip install -e .`, or add its directory to pytest's `pythonpath`)."
        )
    close = difflib.get_close_matches(found.key, sorted(modules), n=1)
    return found.hint + (f" Did you mean `{close[0]}`?" if close else "")


def _from_case(case: TestCase, run: RunOutput, files: Collection[str]) -> tuple[Diagnosis, Failure]:
    # jest and vitest repeat the message at the head of the trace
    text = (
        case.trace
        if case.message and case.message in case.trace
        else f"{case.message}\n{case.trace}"
    )
    found = diagnose(text, case.error_type)
    message, where = _essence(case), None
    if not case.trace.strip():  # e.g. `go test` before 1.24 prints build errors on stderr only
        output_text = _tail(run.stderr) + "\n" + _tail(run.stdout)
        output = diagnose(output_text, rules=RUN_RULES)
        if output.cause is not Cause.unknown and found.cause in (Cause.unknown, Cause.exception):
            found = output
        if output.cause is found.cause and not message:
            message, where = _telling_line(output_text), best_frame(output_text, run.root)
    found = replace(found, hint=_import_hint(found, files))
    if case.file and case.line:
        where = Frame(case.file, case.line)
    location = where or best_frame(text)
    failure = Failure(
        test=case.id,
        message=_clip(message),
        location=location,
        called_from=calling_frame(text, run.root, location),
        error_type=case.error_type,
        expected=found.expected,
        actual=found.actual,
        diff=found.diff,
    )
    return found, failure


def _from_output(run: RunOutput, files: Collection[str]) -> tuple[Diagnosis, Failure]:
    """A failure outside any test: the install, the runner itself, the whole run's time limit."""
    text = _tail(run.stderr) + "\n" + _tail(run.stdout)
    install = run.phase is Phase.install
    found = diagnose(text, rules=INSTALL_RULES if install else RUN_RULES)
    if found.cause is Cause.unknown and run.timed_out:
        hint = "The whole run hit the sandbox's time limit: a test hangs (an endless loop?)."
        found = Diagnosis(Cause.timeout, "", hint)
    elif found.cause is Cause.unknown and install:
        found = Diagnosis(Cause.dependency, "install", "The install step failed; see its output.")
    elif found.cause is Cause.unknown and run.report is not None and not run.report.cases:
        found = Diagnosis(Cause.discovery, "", "The runner found no tests.")
    elif found.cause is Cause.unknown:
        detail = f" ({run.parse_error})" if run.parse_error else ""
        found = Diagnosis(Cause.unknown, "", f"The run failed without a readable report{detail}.")
    found = replace(found, hint=_import_hint(found, files))
    where = best_frame(text, run.root)
    return found, Failure(test="", message=_telling_line(text), location=where)


_TITLES = {
    Cause.dependency: "Dependencies could not be installed",
    Cause.build: "Does not compile (syntax or build error)",
    Cause.import_error: "Cannot import `{key}`",
    Cause.discovery: "No tests found",
    Cause.timeout: "Timed out",
    Cause.signature: "Wrong call to `{key}`",
    Cause.exception: "`{key}` raised",
    Cause.assertion: "Assertions failed",
    Cause.unknown: "Failed for an unclear reason",
}


def analyze(
    run: RunOutput,
    *,
    project_files: Collection[str] = (),
    max_chars: int = MAX_MARKDOWN,
) -> Analysis:
    """`project_files` (paths relative to the project root) sharpen import-error hints."""
    found: list[tuple[Diagnosis, Failure]] = []
    report = run.report
    if run.phase is Phase.test and report is not None:
        found += [_from_case(case, run, project_files) for case in report.unsuccessful]
    failed_run = run.timed_out or run.exit_code not in (0, None)
    no_results = run.phase is Phase.test and (report is None or not report.cases)
    if not found and (failed_run or no_results):
        found.append(_from_output(run, project_files))
    groups: dict[tuple[Cause, str], list[tuple[Diagnosis, Failure]]] = {}
    for diagnosis, failure in found:
        groups.setdefault((diagnosis.cause, diagnosis.key), []).append((diagnosis, failure))
    ordered = sorted(groups.items(), key=lambda item: _ORDER.index(item[0][0]))
    result = tuple(
        FailureGroup(
            cause=cause,
            key=key,
            title=_TITLES[cause].format(key=key or "?"),
            suggestion=" ".join(dict.fromkeys(d.hint for d, _ in members if d.hint)),
            failures=tuple(f for _, f in members),
        )
        for (cause, key), members in ordered
    )
    ok = not result and (run.phase is Phase.install or report is not None)
    summary = summary_line(run, result)
    return Analysis(
        ok=ok,
        code_problem=any(g.cause is not Cause.dependency for g in result),
        summary=summary,
        groups=result,
        markdown=render(summary, result, max_chars),
    )
