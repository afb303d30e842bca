"""jest's `--json` report and mocha's `json` reporter."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from bdg_tester.results.locations import best_frame, relative_to
from bdg_tester.results.outcomes import (
    ParseError,
    Status,
    TestCase,
    TestReport,
    first_line,
    plain,
    seconds,
)

_JEST_STATUS = {
    "passed": Status.passed,
    "failed": Status.failed,
    "pending": Status.skipped,
    "skipped": Status.skipped,
    "todo": Status.skipped,
    "disabled": Status.skipped,
    "focused": Status.passed,
}
_STACK_LINE = re.compile(r"^\s+at ", re.M)
_ERROR_TYPE = re.compile(r"^\s*((?:[A-Z]\w*)?(?:Error|Exception))\b")


def _object(text: str, what: str, first_key: str) -> Mapping[str, Any]:
    """The report object; console output printed before it (when it went to stdout) is skipped."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
        start = re.search(r'\{\s*"' + first_key + '"', text)
        if start:
            try:
                data, _ = json.JSONDecoder().raw_decode(text, start.start())
            except ValueError:
                data = None
        if data is None:
            raise ParseError(f"{what}: not valid JSON (truncated?)") from None
    if not isinstance(data, dict):
        raise ParseError(f"{what}: the document is not a JSON object")
    return data


def _message(failure: str) -> str:
    """The text of a failure message before its stack."""
    head = _STACK_LINE.split(failure, maxsplit=1)[0]
    return re.sub(r"^Error: ", "", head.strip())


def _error_type(text: str) -> str:
    match = _ERROR_TYPE.match(text)
    return match.group(1) if match else ""


def _assertion(trace: str) -> bool:
    return "Assertion" in _error_type(trace) or "expect(" in first_line(trace)


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def parse_jest_json(text: str, *, root: str = "") -> TestReport:
    data = _object(text, "jest report", "numFailedTestSuites")
    suites = data.get("testResults")
    if not isinstance(suites, list):
        raise ParseError("jest report: no testResults list")
    cases: list[TestCase] = []
    end = 0.0
    for suite in suites:
        if not isinstance(suite, dict):
            raise ParseError("jest report: a testResults entry is not an object")
        file = relative_to(str(suite.get("name", "")), root)
        end = max(end, seconds(suite.get("endTime")) or 0.0)
        results = _list(suite.get("assertionResults"))
        for result in results:
            if not isinstance(result, dict):
                continue
            trace = plain("\n".join(str(m) for m in _list(result.get("failureMessages"))))
            status = _JEST_STATUS.get(str(result.get("status")), Status.error)
            if status is Status.failed and _error_type(trace) and not _assertion(trace):
                status = Status.error  # jest calls a thrown TypeError "failed" too
            titles = [*_list(result.get("ancestorTitles")), result.get("title", "")]
            where = best_frame(trace, root) if trace else None
            cases.append(
                TestCase(
                    name=str(result.get("fullName") or " > ".join(map(str, titles))),
                    suite=file,
                    status=status,
                    duration_s=seconds(result.get("duration"), 0.001),
                    message=_message(trace),
                    trace=trace,
                    error_type=_error_type(trace),
                    file=where.file if where else file,
                    line=where.line if where else None,
                )
            )
        failed_to_run = suite.get("status") == "failed" and not any(
            c.suite == file and c.status in (Status.failed, Status.error) for c in cases
        )
        if failed_to_run:  # e.g. "Test suite failed to run: Cannot find module"
            trace = plain(str(suite.get("message") or ""))
            body = trace.split("Test suite failed to run", 1)[-1]
            where = best_frame(trace, root)
            cases.append(
                TestCase(
                    name="(test suite failed to run)",
                    suite=file,
                    status=Status.error,
                    message=first_line(body),
                    trace=trace.strip(),
                    error_type=_error_type(first_line(body)),
                    file=where.file if where else file,
                    line=where.line if where else None,
                )
            )
    start = seconds(data.get("startTime"))  # epoch milliseconds, like endTime
    duration = (end - start) / 1000 if start is not None and end > start else None
    return TestReport(tuple(cases), duration_s=round(duration, 6) if duration else None)


def parse_mocha_json(text: str, *, root: str = "") -> TestReport:
    data = _object(text, "mocha report", "stats")
    tests, failures = data.get("tests"), data.get("failures")
    if not isinstance(tests, list) or not isinstance(failures, list):
        raise ParseError("mocha report: no tests/failures lists")

    def key(test: Mapping[str, Any]) -> tuple[str, str]:
        return str(test.get("fullTitle", "")), str(test.get("file", ""))

    failed = {key(t): t for t in failures if isinstance(t, dict)}
    pending = {key(t) for t in _list(data.get("pending")) if isinstance(t, dict)}
    seen: set[tuple[str, str]] = set()
    cases: list[TestCase] = []
    # tests first, then failures that are no test: a failing hook ("before all" hook for ...)
    for test in [*tests, *failed.values()]:
        if not isinstance(test, dict) or key(test) in seen:
            continue
        seen.add(key(test))
        err = failed.get(key(test), test).get("err")
        err = err if isinstance(err, dict) else {}
        trace = plain(str(err.get("stack") or err.get("message") or ""))
        if key(test) in failed or err:
            in_tests = any(isinstance(t, dict) and key(t) == key(test) for t in tests)
            assertion = err.get("name") == "AssertionError" or "expected" in err
            status = Status.failed if assertion and in_tests else Status.error
        elif key(test) in pending:
            status = Status.skipped
        else:
            status = Status.passed
        file = relative_to(str(test.get("file", "")), root)
        where = best_frame(trace, root) if trace else None
        cases.append(
            TestCase(
                name=str(test.get("fullTitle") or test.get("title", "")),
                suite=file,
                status=status,
                duration_s=seconds(test.get("duration"), 0.001),
                message=str(err.get("message", "")),
                trace=trace,
                error_type=str(err.get("name") or _error_type(trace)),
                file=where.file if where else file or None,
                line=where.line if where else None,
            )
        )
    stats = data.get("stats")
    duration = seconds(stats.get("duration"), 0.001) if isinstance(stats, dict) else None
    return TestReport(tuple(cases), duration_s=duration)
