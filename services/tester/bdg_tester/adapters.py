"""The tester's outside world: a test runner.

`SandboxTestRunner` (sandbox/runner.py) runs the tests in sandboxd; `RecordedTestRunner`
(recorded.py) answers from a recorded script (`BDG_ANSWERS_FILE`: tests, the demo);
`RecordedOutcomes` answers from the outcomes a job's history recorded (a replay never runs the
tests again).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

from bdg_contracts.base import Event
from bdg_contracts.events import FilesChanged, TestsFailed, TestsPassed
from bdg_tester.domain import TestRun, TestTask

PRODUCER = "tester"


class AbstractTestRunner(abc.ABC):
    @abc.abstractmethod
    async def run(self, task: TestTask) -> TestRun: ...


class MissingOutcomeError(LookupError):
    """The history holds no test outcome for the run being replayed."""


class RecordedOutcomes(AbstractTestRunner):
    """The tester's TestsPassed/TestsFailed in reaction to the trigger at the task's version
    (by attempt when that trigger is not found), as the run that recorded them reported it,
    with the tests it scaffolded in that reaction (its FilesChanged)."""

    def __init__(self, history: Sequence[Event]) -> None:
        self.history = history

    async def run(self, task: TestTask) -> TestRun:
        outcomes = [
            e
            for e in self.history
            if isinstance(e, TestsPassed | TestsFailed) and e.producer == PRODUCER
        ]
        trigger = next((e for e in self.history if e.version == task.trigger_version), None)
        caused = [e for e in outcomes if trigger is not None and e.causation_id == trigger.event_id]
        found = caused or [e for e in outcomes if e.attempt == task.attempt]
        if not found:
            raise MissingOutcomeError(f"no recorded test outcome for attempt {task.attempt}")
        outcome = found[0]
        scaffolded = [
            e
            for e in self.history
            if isinstance(e, FilesChanged)
            and e.producer == PRODUCER
            and e.causation_id == outcome.causation_id
        ]
        patch = "".join(e.patch for e in scaffolded)
        paths = tuple(p for e in scaffolded for p in e.paths)
        if isinstance(outcome, TestsPassed):
            return TestRun(outcome.results, True, scaffold_patch=patch, scaffold_paths=paths)
        return TestRun(outcome.results, False, outcome.analysis, patch, paths)
