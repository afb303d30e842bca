"""Coverage reports: coverage.py's JSON and istanbul's `coverage-summary.json`, as one model.

(Not named coverage.py, which would shadow the coverage package.)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bdg_tester.detection.projects import CoverageFormat
from bdg_tester.results.locations import relative_to
from bdg_tester.results.outcomes import ParseError


@dataclass(frozen=True)
class FileCoverage:
    path: str
    percent: float | None
    lines_covered: int
    lines_total: int


@dataclass(frozen=True)
class CoverageReport:
    """`percent` is the tool's headline figure (coverage.py: statements, plus branches when it
    measured them; istanbul: lines); None when there was nothing to measure."""

    percent: float | None
    lines_covered: int
    lines_total: int
    files: tuple[FileCoverage, ...]
    branches_percent: float | None = None
    functions_percent: float | None = None

    def lowest(self, count: int = 5) -> tuple[FileCoverage, ...]:
        """The least covered files, for a coder deciding where tests are missing."""
        measured = [f for f in self.files if f.percent is not None and f.lines_total]
        return tuple(sorted(measured, key=lambda f: (f.percent, f.path))[:count])


def _pct(value: object) -> float | None:
    """A percentage in 0..100, or None ("Unknown" is what istanbul writes for 0 of 0)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return round(min(100.0, max(0.0, float(value))), 2)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _load(text: str, what: str) -> Mapping[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        raise ParseError(f"{what}: not valid JSON (truncated?)") from None
    if not isinstance(data, dict):
        raise ParseError(f"{what}: the document is not a JSON object")
    return data


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_coverage_py_json(text: str, *, root: str = "") -> CoverageReport:
    data = _load(text, "coverage.py JSON")
    totals = data.get("totals")
    if not isinstance(totals, dict):
        raise ParseError("coverage.py JSON: no totals")
    files = tuple(
        sorted(
            (
                FileCoverage(
                    path=relative_to(str(path), root),
                    percent=_pct(_dict(entry.get("summary")).get("percent_covered")),
                    lines_covered=_int(_dict(entry.get("summary")).get("covered_lines")),
                    lines_total=_int(_dict(entry.get("summary")).get("num_statements")),
                )
                for path, entry in _dict(data.get("files")).items()
                if isinstance(entry, dict)
            ),
            key=lambda f: f.path,
        )
    )
    branches = _int(totals.get("num_branches"))
    measured = _int(totals.get("num_statements")) or branches
    return CoverageReport(
        percent=_pct(totals.get("percent_covered")) if measured else None,
        lines_covered=_int(totals.get("covered_lines")),
        lines_total=_int(totals.get("num_statements")),
        files=files,
        branches_percent=(
            round(100 * _int(totals.get("covered_branches")) / branches, 2) if branches else None
        ),
    )


def _metric(entry: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    return _dict(entry.get(name))


def parse_istanbul_summary(text: str, *, root: str = "") -> CoverageReport:
    data = _load(text, "istanbul coverage summary")
    total = data.get("total")
    if not isinstance(total, dict) or not isinstance(total.get("lines"), dict):
        raise ParseError("istanbul coverage summary: no total.lines")
    files = tuple(
        sorted(
            (
                FileCoverage(
                    path=relative_to(str(path), root),
                    percent=_pct(_metric(entry, "lines").get("pct")),
                    lines_covered=_int(_metric(entry, "lines").get("covered")),
                    lines_total=_int(_metric(entry, "lines").get("total")),
                )
                for path, entry in data.items()
                if path != "total" and isinstance(entry, dict)
            ),
            key=lambda f: f.path,
        )
    )
    lines = _metric(total, "lines")
    return CoverageReport(
        percent=_pct(lines.get("pct")) if _int(lines.get("total")) else None,
        lines_covered=_int(lines.get("covered")),
        lines_total=_int(lines.get("total")),
        files=files,
        branches_percent=_pct(_metric(total, "branches").get("pct")),
        functions_percent=_pct(_metric(total, "functions").get("pct")),
    )


def parse_coverage(fmt: CoverageFormat, text: str, *, root: str = "") -> CoverageReport:
    parser = {
        CoverageFormat.coverage_py_json: parse_coverage_py_json,
        CoverageFormat.istanbul_summary: parse_istanbul_summary,
    }[fmt]
    return parser(text, root=root)
