"""The tester's outside world: a test runner (the sandbox, later).

Only recorded answers exist for now (``BDG_ANSWERS_FILE``).
"""

from __future__ import annotations

import abc

from bdg_contracts.events import TestResults
from bdg_runtime.answers import Answers, pick
from bdg_tester.domain import TestRun, TestTask


class AbstractTestRunner(abc.ABC):
    @abc.abstractmethod
    async def run(self, task: TestTask) -> TestRun: ...


class RecordedTestRunner(AbstractTestRunner):
    def __init__(self, answers: Answers) -> None:
        self.answers = answers

    async def run(self, task: TestTask) -> TestRun:
        a = pick(self.answers.script_for(task.goal).tests, task.attempt)
        results = TestResults(
            total=a.total, failed=a.failed, coverage=a.coverage, output_tail=a.output_tail
        )
        return TestRun(results, a.passed, a.analysis)
