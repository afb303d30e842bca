"""Coverage reports (coverage.py JSON, istanbul json-summary) into one model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bdg_tester.detection.projects import CoverageFormat
from bdg_tester.results.coverage import (
    CoverageReport,
    FileCoverage,
    parse_coverage,
    parse_coverage_py_json,
    parse_istanbul_summary,
)
from bdg_tester.results.outcomes import ParseError

pytestmark = pytest.mark.timeout(30)

DATA = Path(__file__).parent / "data" / "tester"


def read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def test_coverage_py_json_with_branches() -> None:
    report = parse_coverage_py_json(read("coverage_py.json"))
    # coverage.py's headline counts branches too: (12 + 2) / (15 + 4)
    assert report.percent == 73.68
    assert (report.lines_covered, report.lines_total) == (12, 15)
    assert report.branches_percent == 50.0
    assert report.files == (
        FileCoverage("src/calc/__init__.py", 100.0, 2, 2),
        FileCoverage("src/calc/ops.py", 70.59, 10, 13),
    )
    assert report.lowest(1) == (FileCoverage("src/calc/ops.py", 70.59, 10, 13),)


def test_coverage_py_absolute_paths_are_made_relative_to_the_root() -> None:
    text = json.dumps(
        {
            "totals": {"percent_covered": 50.0, "covered_lines": 1, "num_statements": 2},
            "files": {
                "/workspace/app/pkg/a.py": {
                    "summary": {"percent_covered": 50.0, "covered_lines": 1, "num_statements": 2}
                }
            },
        }
    )
    report = parse_coverage_py_json(text, root="/workspace/app")
    assert [f.path for f in report.files] == ["pkg/a.py"]
    assert report.branches_percent is None


@pytest.mark.parametrize(
    ("name", "root", "percent", "lines", "branches", "functions", "file"),
    [
        (
            "vitest_coverage_summary.json",
            "/tmp/fx/vite",
            81.81,
            (9, 11),
            66.66,
            100.0,
            "src/math.js",
        ),
        ("jest_coverage_summary.json", "/tmp/fx/jest", 100.0, (5, 5), 50.0, 100.0, "src/cart.js"),
    ],
)
def test_istanbul_summaries_from_vitest_and_jest(
    name: str,
    root: str,
    percent: float,
    lines: tuple[int, int],
    branches: float,
    functions: float,
    file: str,
) -> None:
    report = parse_istanbul_summary(read(name), root=root)
    assert report.percent == percent
    assert (report.lines_covered, report.lines_total) == lines
    assert (report.branches_percent, report.functions_percent) == (branches, functions)
    assert [f.path for f in report.files] == [file]


def test_istanbul_unknown_percentages_are_none_not_errors() -> None:
    empty = {"total": 0, "covered": 0, "skipped": 0, "pct": "Unknown"}
    text = json.dumps(
        {"total": {"lines": empty, "statements": empty, "branches": empty, "functions": empty}}
    )
    report = parse_istanbul_summary(text)
    assert report == CoverageReport(None, 0, 0, (), None, None)


def test_nothing_measured_has_no_percentage() -> None:
    text = json.dumps(
        {"totals": {"percent_covered": 100.0, "covered_lines": 0, "num_statements": 0}, "files": {}}
    )
    assert parse_coverage_py_json(text).percent is None


def test_percentages_are_clamped_for_the_event_contract() -> None:
    lines = {"total": 10, "covered": 12, "pct": 120}
    report = parse_istanbul_summary(json.dumps({"total": {"lines": lines}}))
    assert report.percent == 100.0


def test_files_are_sorted_whatever_the_report_order() -> None:
    entry = {"lines": {"total": 1, "covered": 1, "pct": 100}}
    text = json.dumps({"total": entry, "/r/b.js": entry, "/r/a.js": entry})
    assert [f.path for f in parse_istanbul_summary(text, root="/r").files] == ["a.js", "b.js"]


def test_dispatch_by_format() -> None:
    py = parse_coverage(CoverageFormat.coverage_py_json, read("coverage_py.json"))
    js = parse_coverage(CoverageFormat.istanbul_summary, read("jest_coverage_summary.json"))
    assert (py.percent, js.percent) == (73.68, 100.0)


@pytest.mark.parametrize("parser", [parse_coverage_py_json, parse_istanbul_summary])
@pytest.mark.parametrize(
    "text", ["", '{"totals": {"percent_covered"', "[]", "{}", '{"total": 3}', "<html>"]
)
def test_bad_reports_are_parse_errors(parser: object, text: str) -> None:
    with pytest.raises(ParseError):
        parser(text)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("fmt", "name"),
    [
        (CoverageFormat.coverage_py_json, "coverage_py.json"),
        (CoverageFormat.istanbul_summary, "vitest_coverage_summary.json"),
    ],
)
def test_every_truncation_gives_a_report_or_a_parse_error(fmt: CoverageFormat, name: str) -> None:
    text = read(name)
    for cut in range(0, len(text), 7):
        try:
            report = parse_coverage(fmt, text[:cut])
        except ParseError:
            continue
        assert isinstance(report, CoverageReport)


def test_values_of_the_wrong_type_are_ignored() -> None:
    text = json.dumps(
        {
            "totals": {"percent_covered": "lots", "covered_lines": -3, "num_statements": True},
            "files": {"a.py": "not an object", "b.py": {"summary": []}},
        }
    )
    report = parse_coverage_py_json(text)
    assert (report.percent, report.lines_covered, report.lines_total) == (None, 0, 0)
    assert report.files == (FileCoverage("b.py", None, 0, 0),)
