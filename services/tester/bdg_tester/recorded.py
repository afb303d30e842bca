"""The tester answered from a recorded script (``BDG_ANSWERS_FILE``: tests, the demo): its
section of the script (``tests[]``, one run per attempt) and the runner that reads it."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import Field, model_validator

from bdg_contracts.events import TestResults
from bdg_runtime.answers import Answer, Answers, Scripts, ScriptView, pick
from bdg_tester.adapters import AbstractTestRunner
from bdg_tester.domain import TestRun, TestTask


class TestRunAnswer(Answer):
    __test__: ClassVar[bool] = False  # not a pytest class

    passed: bool
    total: int = Field(default=0, ge=0)
    failed: int = Field(default=0, ge=0)
    coverage: float | None = Field(default=None, ge=0, le=100)
    analysis: str = ""
    output_tail: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.failed > self.total:
            raise ValueError("failed cannot exceed total")
        if self.passed and self.failed:
            raise ValueError("a passing run has no failed tests")
        return self


class TesterScript(ScriptView):
    """The tester's section of a recorded script."""

    __test__: ClassVar[bool] = False  # not a pytest class

    tests: tuple[TestRunAnswer, ...] = Field(min_length=1)


class RecordedTestRunner(AbstractTestRunner):
    def __init__(self, answers: Answers) -> None:
        self.scripts: Scripts[TesterScript] = answers.read(TesterScript)

    async def run(self, task: TestTask) -> TestRun:
        a = pick(self.scripts.script_for(task.goal).tests, task.attempt)
        results = TestResults(
            total=a.total, failed=a.failed, coverage=a.coverage, output_tail=a.output_tail
        )
        return TestRun(results, a.passed, a.analysis)
