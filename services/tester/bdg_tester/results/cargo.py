"""`cargo test` console output (libtest has no stable machine-readable format).

Reads stdout alone or stdout and stderr interleaved as a terminal shows them: a `Running <target>`
header (stderr) names the test binary whose `running N tests` line follows it, and compiler
errors (stderr) become one build error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bdg_tester.results.locations import best_frame
from bdg_tester.results.outcomes import ParseError, Status, TestCase, TestReport, seconds

_TARGET = re.compile(r"^\s*(?:Running (?:unittests )?(?P<target>\S+)|Doc-tests (?P<doc>\S+))")
_RUNNING = re.compile(r"^running (?P<n>\d+) tests?$")
_RESULT = re.compile(
    r"^test (?P<name>.+?)(?: - should panic)? \.\.\. (?P<res>ok|FAILED|ignored(?:, .*)?)$"
)
_SUMMARY = re.compile(r"^test result: (?:ok|FAILED)\..*finished in (?P<s>[\d.]+)s")
_BODY = re.compile(r"^---- (?P<name>.+?) std(?:out|err) ----$")
_PANIC = re.compile(r"panicked at (?P<where>[^\s']+):\d+:\d+:$")
_PANIC_OLD = re.compile(r"panicked at '(?P<msg>.*?)', [^\s]+:\d+:\d+", re.S)
_COMPILE = re.compile(r"^error(?:\[E\d+\])?: (?P<msg>.+)$")
_CARGO_SUMMARY = re.compile(
    r"^error: (test failed|could not compile|\d+ targets? failed|aborting due to)"
)
_STATUS = {"ok": Status.passed, "FAILED": Status.failed}


@dataclass
class _State:
    suite: str = ""
    pending_target: str | None = None
    results: list[tuple[str, str, str]] = field(default_factory=list)  # suite, name, result
    bodies: dict[str, list[str]] = field(default_factory=dict)
    body: list[str] | None = None
    compile_errors: list[list[str]] = field(default_factory=list)
    declared: int = 0
    summaries: int = 0
    duration: float = 0.0


def _panic_message(lines: list[str]) -> str:
    old = _PANIC_OLD.search("\n".join(lines))
    if old:
        return old.group("msg").strip()
    for index, line in enumerate(lines):
        if _PANIC.search(line):
            rest = []
            for following in lines[index + 1 :]:
                if not following.strip() or following.startswith(("note:", "stack backtrace:")):
                    break
                rest.append(following.rstrip())
            return "\n".join(rest).strip()
    return next((line.strip() for line in lines if line.strip()), "")


def _feed(state: _State, line: str) -> None:
    target = _TARGET.match(line)
    if target:
        state.pending_target = target.group("target") or f"doc-tests {target.group('doc')}"
        return
    running = _RUNNING.match(line)
    if line.strip() and not running:
        state.pending_target = None  # a header names the binary only right before its tests
    if running:
        state.suite, state.pending_target, state.body = state.pending_target or "", None, None
        state.declared += int(running.group("n"))
        return
    result = _RESULT.match(line)
    if result and state.body is None:
        state.results.append((state.suite, result.group("name"), result.group("res")))
        return
    body = _BODY.match(line)
    if body:
        state.body = state.bodies.setdefault(body.group("name"), [])
        return
    summary = _SUMMARY.match(line)
    if summary or line in ("failures:", "successes:"):
        state.body = None
        if summary:
            state.summaries += 1
            state.duration += seconds(summary.group("s")) or 0.0
        return
    if _COMPILE.match(line) and not _CARGO_SUMMARY.match(line):
        state.compile_errors.append([line])
        state.body = None
        return
    if state.body is not None:
        state.body.append(line)
    elif state.compile_errors and (line.startswith((" ", "|", "help:")) or line[:1].isdigit()):
        state.compile_errors[-1].append(line)


def parse_cargo_test(text: str, *, root: str = "") -> TestReport:
    state = _State()
    for line in text.splitlines():
        _feed(state, line.rstrip("\r"))
    if not (state.results or state.summaries or state.declared or state.compile_errors):
        raise ParseError("cargo test: no test results or compiler errors in the output")
    cases = []
    for suite, name, result in state.results:
        status = _STATUS.get(result, Status.skipped)
        lines = state.bodies.get(name, [])
        message = _panic_message(lines) if status is Status.failed else ""
        trace = "\n".join(lines).strip()
        where = best_frame(trace, root) if trace else None
        if status is Status.failed and not message.startswith("assert"):
            status = Status.error  # a panic (unwrap, index out of range), not an assertion
        cases.append(
            TestCase(
                name=name,
                suite=suite,
                status=status,
                message=message or (result.partition(", ")[2] if result.startswith("ign") else ""),
                trace=trace,
                error_type="panic" if status is not Status.passed and lines else "",
                file=where.file if where else None,
                line=where.line if where else None,
            )
        )
    if state.compile_errors:
        trace = "\n".join("\n".join(block) for block in state.compile_errors)
        where = best_frame(trace, root)
        first = _COMPILE.match(state.compile_errors[0][0])
        cases.append(
            TestCase(
                name="[build failed]",
                suite="",
                status=Status.error,
                message=first.group("msg") if first else "",
                trace=trace,
                error_type="build",
                file=where.file if where else None,
                line=where.line if where else None,
            )
        )
    notes: tuple[str, ...] = ()
    if state.declared > len(state.results):
        notes = (f"output cut off: {len(state.results)} of {state.declared} tests reported",)
    return TestReport(tuple(cases), duration_s=round(state.duration, 6), notes=notes)
