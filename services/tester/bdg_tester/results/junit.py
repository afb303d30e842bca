"""JUnit XML, as pytest, vitest, Maven Surefire and Gradle write it (one or several files).

defusedxml is not installed, so the standard parser is guarded instead: documents with a DOCTYPE
(the only way to declare entities, hence entity-expansion and external-entity attacks) are
refused, and each document is capped in size. Runner reports never need a DOCTYPE.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

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

MAX_XML_CHARS = 32 * 1024 * 1024
# Characters XML 1.0 forbids, literal or as references; test output (colours, binary junk)
# sometimes carries them into a report, and expat rejects the whole file for one.
_BAD_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_BAD_REFS = re.compile(
    r"&#(?:x0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F])|0*(?:[0-8]|1[124-9]|2[0-9]|3[01]));"
)
_DOCTYPE = re.compile(r"<!(?:DOCTYPE|ENTITY)", re.I)


def _root(text: str, name: str) -> ET.Element:
    if len(text) > MAX_XML_CHARS:
        raise ParseError(f"{name}: {len(text)} characters, over the {MAX_XML_CHARS} cap")
    if _DOCTYPE.search(text):
        raise ParseError(f"{name}: a DOCTYPE or ENTITY declaration is not accepted")
    cleaned = _BAD_REFS.sub("", _BAD_CHARS.sub("", plain(text)))
    if not cleaned.strip():
        raise ParseError(f"{name}: empty document")
    try:
        root = ET.fromstring(cleaned)
    except ET.ParseError as e:
        line, column = e.position
        raise ParseError(
            f"{name}: not well-formed XML (truncated?) at line {line}, column {column}"
        ) from e
    if root.tag not in ("testsuites", "testsuite"):
        raise ParseError(f"{name}: root element <{root.tag}> is not <testsuites> or <testsuite>")
    return root


def _status(case: ET.Element) -> tuple[Status, ET.Element | None]:
    for tag, status in (("failure", Status.failed), ("error", Status.error)):
        found = case.find(tag)
        if found is not None:
            return status, found
    skipped = case.find("skipped")
    if skipped is not None:
        return Status.skipped, skipped
    return Status.passed, None


# node --test's JUnit `type` is the kind of test failure; the error itself is its `cause`.
_NODE_FAILURES = frozenset({"testCodeFailure", "hookFailure", "testTimeoutFailure"})
_NODE_MESSAGE = re.compile(r"^\[?Error \[ERR_TEST_FAILURE\]: (.*?)(?:\n\s+at |\] \{|\n\{)", re.S)
_NODE_CAUSE = re.compile(r"^\s*cause: ([\w$.]+)", re.M)
_JS_FILE = re.compile(r"\.[cm]?[jt]sx?$")


def _node_failure(trace: str, message: str, failure_type: str) -> tuple[str, str]:
    """(message, error type) of a node --test failure: the attribute's message has lost its
    line breaks, which node's assertion diffs need; the trace keeps them."""
    kept = _NODE_MESSAGE.search(trace)
    cause = _NODE_CAUSE.search(trace)
    return (kept.group(1).rstrip() if kept else message), (
        cause.group(1) if cause else failure_type
    )


def _case(case: ET.Element, suite: str, pytest: bool, root: str) -> TestCase:
    status, detail = _status(case)
    message = trace = error_type = ""
    if detail is not None:
        trace = (detail.text or "").strip()
        message = detail.get("message") or first_line(trace)
        error_type = detail.get("type", "")
    name, file, line = case.get("name", ""), case.get("file"), case.get("line")
    if error_type in _NODE_FAILURES:
        message, error_type = _node_failure(trace, message, error_type)
        if _JS_FILE.search(name) and "cause: 'test failed'" in trace:
            # a test file that did not load (a syntax error, a bad import): node names the
            # file and says only "test failed"; the error is in the run's output
            name = file = relative_to(name, root)
            status, message, trace = Status.error, "", ""
    number = int(line) + (1 if pytest else 0) if line and line.isdigit() else None  # 0-based
    where = best_frame(trace, root) if status in (Status.failed, Status.error) else None
    classname = case.get("classname") or ""
    if file is None and _JS_FILE.search(classname):
        file = classname  # vitest: the classname is the test file
        if case.get("name") == classname and status is Status.failed:
            status = Status.error  # the file itself failed to load: no test ran
    return TestCase(
        name=name,
        suite=classname or suite,
        status=status,
        duration_s=seconds(case.get("time")),
        message=message.strip(),
        trace=trace,
        error_type=error_type,
        file=where.file if where else (relative_to(file, root) if file else None),
        line=where.line if where else number,
    )


def parse_junit_xml(documents: str | Sequence[str], *, root: str = "") -> TestReport:
    """One report from one or several JUnit XML documents (Surefire writes one per class)."""
    docs = [documents] if isinstance(documents, str) else list(documents)
    if not docs:
        raise ParseError("no JUnit XML documents")
    cases: list[TestCase] = []
    duration = 0.0
    for index, text in enumerate(docs):
        top = _root(text, f"document {index + 1}")
        pytest = top.get("name") == "pytest tests" or any(
            s.get("name") == "pytest" for s in top.iter("testsuite")
        )
        suites = [top] if top.tag == "testsuite" else top.findall("testsuite")
        total = seconds(top.get("time"))
        if total is None:
            total = sum(seconds(s.get("time")) or 0.0 for s in suites)
        duration += total
        if top.tag == "testsuites":  # node --test: top-level tests sit in no suite
            cases += [_case(c, "", pytest, root) for c in top.findall("testcase")]
        for suite in top.iter("testsuite"):
            name = suite.get("name", "")
            cases += [_case(c, name, pytest, root) for c in suite.findall("testcase")]
    return TestReport(tuple(cases), duration_s=round(duration, 6))
