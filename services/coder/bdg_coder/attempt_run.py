"""What every run of an attempt in one workspace shares, whatever drives it (the tool loop, the
pipeline): the task, the workspace's tool context, the model client, the state (turns, tokens,
why it stopped), and the change it made (``workspace_diff``) and, for a test-driven selection,
how the visible tests go on it (``run_tests``). Every call is recorded under a scope of this run
(``prefix``), so a redelivery gets the recorded results and a replay reads them back."""

from __future__ import annotations

import abc
import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

from bdg_coder.check_tool import CHECK_TESTS, TestsChecked
from bdg_coder.diff_tool import WORKSPACE_DIFF, Diff
from bdg_coder.domain import CodingTask
from bdg_coder.llm_adapters import CoderLlm
from bdg_coder.loop_decisions import LoopState
from bdg_coder.selecting.ranking import TestsRun
from bdg_runtime.reactions import StepError
from bdg_tools.calls import ToolCaller
from bdg_tools.catalog import RUN_TESTS, TestRun
from bdg_tools.spec import ToolContext


@dataclass
class AttemptRun(abc.ABC):
    task: CodingTask
    ctx: ToolContext  # its workspace
    internal: ToolCaller  # workspace_diff, run_tests, check_tests: the coder's own
    llm: CoderLlm
    state: LoopState
    prefix: str  # of every call's scope: "c<attempt>", "c<attempt>k<candidate>"
    temperature: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)  # a candidate's own seed

    @abc.abstractmethod
    async def loop(self) -> None:
        """Make the change (until ``state`` says it stopped)."""

    def digest(self) -> str:
        """Of the conversation: a re-run that made the same calls has the same one."""
        digest = hashlib.sha256()
        for turn in self.state.turns:
            for text in (turn.answer, turn.result):
                digest.update(f"{len(text)}:{text}".encode())
        return digest.hexdigest()[:16]

    async def diff(self) -> Diff:
        """The run's change, taken once per conversation (a re-run that made the same calls
        gets the recorded diff; one that went elsewhere takes a new one)."""
        scope = f"{self.prefix}-end-{self.digest()}"
        outcome = await self.internal.call(self._ctx(scope), WORKSPACE_DIFF.name, "{}")
        try:
            return Diff.model_validate_json(outcome.content)
        except ValueError:
            raise StepError(f"the attempt's change cannot be taken: {outcome.content}") from None

    async def check(self, argv: tuple[str, ...]) -> TestsRun | str:
        """The visible tests on the run's change, once per conversation; or why they could not
        be run."""
        scope = f"{self.prefix}-check-{self.digest()}"
        arguments = json.dumps({"path": None, "argv": list(argv)})
        outcome = await self.internal.call(self._ctx(scope), RUN_TESTS.name, arguments)
        try:
            run = TestRun.model_validate_json(outcome.content)
        except ValueError:
            return outcome.content
        return TestsRun(run.passed, run.output_tail)

    async def check_within(
        self, argv: tuple[str, ...], timeout_s: float
    ) -> tuple[TestsRun | str, float]:
        """The visible tests within ``timeout_s`` (check_tests), once per conversation, and
        the seconds they took; a run that did not finish is no run (why, as text), so it ranks
        below any that did."""
        scope = f"{self.prefix}-checked-{self.digest()}"
        arguments = json.dumps({"argv": list(argv), "timeout_s": timeout_s})
        outcome = await self.internal.call(self._ctx(scope), CHECK_TESTS.name, arguments)
        try:
            run = TestsChecked.model_validate_json(outcome.content)
        except ValueError:
            return outcome.content, 0.0
        if run.timed_out:
            return f"the tests did not finish within {timeout_s:g} s", run.duration_s
        return TestsRun(run.passed, run.output_tail), run.duration_s

    def _ctx(self, scope: str) -> ToolContext:
        return replace(self.ctx, scope=scope)
