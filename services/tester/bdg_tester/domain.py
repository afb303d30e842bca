"""Pure testing logic: a test run's verdict and the numbers the job records."""

from __future__ import annotations

from dataclasses import dataclass

from bdg_contracts.events import TestResults


@dataclass(frozen=True)
class TestTask:
    __test__ = False  # not a pytest class

    goal: str
    attempt: int
    repo: str = ""


@dataclass(frozen=True)
class TestRun:
    """One run of the project's tests, as the runner reported it."""

    __test__ = False

    results: TestResults
    runner_passed: bool
    analysis: str = ""

    @property
    def passed(self) -> bool:
        """A pass needs the runner's word, no failure, and at least one test that ran."""
        return self.runner_passed and self.results.failed == 0 and self.results.total > 0

    @property
    def why_failed(self) -> str:
        if self.analysis:
            return self.analysis
        if self.results.total == 0:
            return "no tests ran"
        return f"{self.results.failed} of {self.results.total} tests failed"
