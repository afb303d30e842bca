"""The per-test model every results parser produces."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class ParseError(ValueError):
    """A report that cannot be read: truncated, garbled, or not the format it claims to be."""


class Status(StrEnum):
    passed = "passed"
    failed = "failed"  # an assertion did not hold
    error = "error"  # the test could not run to its assertions: exception, setup, build, load
    skipped = "skipped"


@dataclass(frozen=True)
class TestCase:
    """One test as the runner reported it. `file`/`line` point where the failure shows (the
    innermost frame in the project's own files), else where the test is defined, when known."""

    __test__ = False  # not a pytest class

    name: str
    suite: str
    status: Status
    duration_s: float | None = None
    message: str = ""
    trace: str = ""
    error_type: str = ""
    file: str | None = None
    line: int | None = None

    @property
    def id(self) -> str:
        return f"{self.suite}::{self.name}" if self.suite else self.name


@dataclass(frozen=True)
class Totals:
    total: int
    passed: int
    failed: int
    errors: int
    skipped: int

    @property
    def unsuccessful(self) -> int:
        return self.failed + self.errors


@dataclass(frozen=True)
class TestReport:
    """The tests of one run. `notes` says what the parser had to make of odd input (a cut-off
    stream, lines that were not the format); they do not change the counts."""

    __test__ = False

    cases: tuple[TestCase, ...]
    duration_s: float | None = None
    notes: tuple[str, ...] = ()

    @property
    def totals(self) -> Totals:
        count = {s: 0 for s in Status}
        for case in self.cases:
            count[case.status] += 1
        return Totals(
            total=len(self.cases),
            passed=count[Status.passed],
            failed=count[Status.failed],
            errors=count[Status.error],
            skipped=count[Status.skipped],
        )

    @property
    def unsuccessful(self) -> tuple[TestCase, ...]:
        return tuple(c for c in self.cases if c.status in (Status.failed, Status.error))


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def plain(text: str) -> str:
    """Without terminal colour codes (jest and vitest colour their messages on a TTY)."""
    return _ANSI.sub("", text)


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def seconds(value: object, scale: float = 1.0) -> float | None:
    """A duration attribute as seconds; junk (or nothing) is None rather than an error."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(str(value).replace(",", ""))
    except ValueError:
        return None
    return round(number * scale, 6) if number >= 0 else None
