"""What an analysis reads and what it produces: a run's output, failures grouped by cause.

Plain frozen data, apart from the logic that fills it (`analyze`) and the text that shows it
(`markdown.render`), so both can import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bdg_tester.analysis.causes import Cause
from bdg_tester.results.locations import Frame
from bdg_tester.results.outcomes import TestReport


class Phase(StrEnum):
    install = "install"
    test = "test"


@dataclass(frozen=True)
class RunOutput:
    """What one install or test run left behind (fields may be added, with defaults)."""

    report: TestReport | None = None
    stdout: str = ""
    stderr: str = ""
    exit_code: int | None = None
    timed_out: bool = False  # the sandbox killed the run at its time limit
    phase: Phase = Phase.test
    parse_error: str = ""  # why no report could be read, if so
    root: str = ""  # the project's directory in the sandbox: output paths are shown under it


@dataclass(frozen=True)
class Failure:
    test: str  # the test's id; "" for a failure outside any test (install, build, load)
    message: str
    location: Frame | None = None
    error_type: str = ""
    called_from: Frame | None = None  # the test's own line, when the location is elsewhere
    expected: str | None = None
    actual: str | None = None
    diff: str = ""


@dataclass(frozen=True)
class FailureGroup:
    cause: Cause
    key: str
    title: str
    suggestion: str
    failures: tuple[Failure, ...]


@dataclass(frozen=True)
class Analysis:
    ok: bool  # nothing to fix: the install succeeded, or tests ran and all passed
    code_problem: bool  # False when only the environment (dependencies, registry) failed
    summary: str
    groups: tuple[FailureGroup, ...]
    markdown: str

    @property
    def failed_tests(self) -> tuple[str, ...]:
        return tuple(f.test for g in self.groups for f in g.failures if f.test)
