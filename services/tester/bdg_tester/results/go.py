"""`go test -json` (test2json events, one JSON object per line).

A stream cut off by the sandbox's output cap, or mixed with plain lines (`go vet` and build
errors go to stderr but `FAIL pkg [build failed]` to stdout before Go 1.24), is still read; only
a stream without a single event is a ParseError.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from bdg_tester.results.locations import best_frame
from bdg_tester.results.outcomes import ParseError, Status, TestCase, TestReport, seconds

_BUILD_FAILED = re.compile(r"^FAIL\s+(\S+) \[(?:build|setup) failed\]")
_NOISE = re.compile(r"^(=== (RUN|PAUSE|CONT|NAME)|--- (PASS|FAIL|SKIP)|PASS$|FAIL$|ok\s|FAIL\s)")
_LOG = re.compile(r"^\s*[\w./-]+\.go:\d+(?::\d+)?: (.*)$")
_STATUS = {"pass": Status.passed, "fail": Status.failed, "skip": Status.skipped}


@dataclass
class _Test:
    package: str
    name: str
    output: list[str] = field(default_factory=list)
    status: Status | None = None
    elapsed: float | None = None


@dataclass
class _Package:
    failed: bool = False
    output: list[str] = field(default_factory=list)
    build_output: list[str] = field(default_factory=list)
    build_failed: bool = False


def _message(lines: list[str]) -> str:
    """The first t.Error/t.Fatal text, or the panic."""
    for line in lines:
        log = _LOG.match(line)
        if log:
            return log.group(1).strip()
    for line in lines:
        if line.startswith("panic: "):
            return line.removesuffix(" [recovered]").strip()
    return ""


def _events(text: str) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    events: list[dict[str, Any]] = []
    plain: list[str] = []
    notes: list[str] = []
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line) if line.lstrip().startswith("{") else None
        except ValueError:
            event = None
            if number == len(lines):
                notes.append("the last line was cut off")
        if isinstance(event, dict) and "Action" in event:
            events.append(event)
        elif event is None:
            plain.append(line)
    return events, plain, notes


def parse_go_test_json(text: str, *, root: str = "") -> TestReport:
    events, plain_lines, notes = _events(text)
    packages: dict[str, _Package] = {}
    for line in plain_lines:
        build = _BUILD_FAILED.match(line)
        if build:
            packages.setdefault(build.group(1), _Package()).build_failed = True
    if not events and not packages:
        raise ParseError("go test -json: no test2json events in the output")
    tests: dict[tuple[str, str], _Test] = {}
    for event in events:
        action, output = str(event["Action"]), str(event.get("Output", ""))
        if action.startswith("build-"):  # Go 1.24: build output has its own events
            pkg = packages.setdefault(str(event.get("ImportPath", "")).split(" ")[0], _Package())
            pkg.build_output.append(output)
            pkg.build_failed |= action == "build-fail"
            continue
        pkg = packages.setdefault(str(event.get("Package", "")), _Package())
        name = event.get("Test")
        if not name:
            pkg.output.append(output)
            pkg.failed |= action == "fail"
            pkg.build_failed |= bool(event.get("FailedBuild")) or "[build failed]" in output
            continue
        test = tests.setdefault((str(event.get("Package", "")), str(name)), _Test(*_key(event)))
        if action == "output":
            test.output.append(output)
        elif action in _STATUS:
            test.status, test.elapsed = _STATUS[action], seconds(event.get("Elapsed"))
    return TestReport(tuple(_cases(tests, packages, root)), notes=tuple(notes))


def _key(event: dict[str, Any]) -> tuple[str, str]:
    return str(event.get("Package", "")), str(event["Test"])


def _cases(
    tests: dict[tuple[str, str], _Test], packages: dict[str, _Package], root: str
) -> list[TestCase]:
    cases = []
    names = {(t.package, t.name) for t in tests.values()}
    for test in tests.values():
        children = [n for p, n in names if p == test.package and n.startswith(test.name + "/")]
        child_failed = any(tests[(test.package, c)].status is Status.failed for c in children)
        if children and (test.status is not Status.failed or child_failed):
            continue  # a parent's verdict is its subtests'; count those, not it again
        lines = [line.rstrip("\n") for line in test.output]
        body = [line for line in lines if not _NOISE.match(line.strip())]
        status = test.status or Status.error  # started, never finished: the binary died
        message = _message(body) or ("did not finish (panic or timeout)" if not test.status else "")
        trace = "\n".join(body).strip()
        where = best_frame(trace, root) if status is not Status.passed else None
        cases.append(
            TestCase(
                name=test.name,
                suite=test.package,
                status=Status.error if status is Status.failed and "panic: " in trace else status,
                duration_s=test.elapsed,
                message=message,
                trace=trace,
                error_type="panic" if "panic: " in trace else "",
                file=where.file if where else None,
                line=where.line if where else None,
            )
        )
    for name, pkg in packages.items():
        own_failure = any(
            t.package == name and t.status in (Status.failed, None) for t in tests.values()
        )
        if not (pkg.build_failed or (pkg.failed and not own_failure)):
            continue
        trace = "".join(pkg.build_output or pkg.output).strip()
        where = best_frame(trace, root)
        cases.append(
            TestCase(
                name="[build failed]" if pkg.build_failed else "[package failed]",
                suite=name,
                status=Status.error,
                message=_message(trace.splitlines()) or (trace.splitlines() or [""])[-1],
                trace=trace,
                error_type="build" if pkg.build_failed else "",
                file=where.file if where else None,
                line=where.line if where else None,
            )
        )
    return cases
