"""Test results: one model (`TestReport` of `TestCase`s) read from every runner's report format.

Every parser takes the report's text and the project's root (absolute paths in stacks are made
relative to it) and raises ParseError, never anything else, on input it cannot read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bdg_contracts.events import TestResults
from bdg_tester.detection.projects import ResultsFormat
from bdg_tester.results.cargo import parse_cargo_test
from bdg_tester.results.go import parse_go_test_json
from bdg_tester.results.js import parse_jest_json, parse_mocha_json
from bdg_tester.results.junit import parse_junit_xml
from bdg_tester.results.outcomes import ParseError, Status, TestCase, TestReport, Totals

__all__ = [
    "ParseError",
    "Status",
    "TestCase",
    "TestReport",
    "Totals",
    "as_test_results",
    "parse_cargo_test",
    "parse_go_test_json",
    "parse_jest_json",
    "parse_junit_xml",
    "parse_mocha_json",
    "parse_results",
]

_Parser = Callable[..., TestReport]
_SINGLE: dict[ResultsFormat, _Parser] = {
    ResultsFormat.jest_json: parse_jest_json,
    ResultsFormat.mocha_json: parse_mocha_json,
    ResultsFormat.go_test_json: parse_go_test_json,
    ResultsFormat.cargo_text: parse_cargo_test,
}


def parse_results(fmt: ResultsFormat, documents: Sequence[str], *, root: str = "") -> TestReport:
    """The report of a run from the documents it wrote (several only for JUnit XML)."""
    if fmt is ResultsFormat.junit_xml:
        return parse_junit_xml(documents, root=root)
    parser = _SINGLE.get(fmt)
    if parser is None:
        raise ParseError(f"{fmt.value}: this runner writes no machine-readable results")
    if len(documents) != 1:
        raise ParseError(f"{fmt.value}: expected one document, got {len(documents)}")
    return parser(documents[0], root=root)


def as_test_results(report: TestReport, *, coverage: float | None, output_tail: str) -> TestResults:
    """The numbers the job records (errors count as failures there)."""
    totals = report.totals
    return TestResults(
        total=totals.total,
        failed=totals.unsuccessful,
        coverage=coverage,
        output_tail=output_tail,
    )
