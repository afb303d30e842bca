"""One run of the coder's tool loop in one workspace: the conversation, the tools and the state;
the change it made (``workspace_diff``) and, for a test-driven selection, how the visible tests
go on it (``run_tests``). Every call is recorded under a scope of this run (``prefix``), so a
redelivery gets the recorded results and a replay reads them back."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

from bdg_coder import prompts
from bdg_coder.diff_tool import WORKSPACE_DIFF, Diff
from bdg_coder.domain import CodingTask
from bdg_coder.llm_adapters import CoderLlm, Finish, known_call
from bdg_coder.loop_decisions import LoopState, messages
from bdg_coder.selecting.ranking import TestsRun
from bdg_llm.api import ChatRequest
from bdg_llm.toolcalls import ToolCallError, Tools, parse_tool_call, tools_request
from bdg_runtime.reactions import StepError
from bdg_tools.calls import ToolCaller
from bdg_tools.catalog import RUN_TESTS, TestRun
from bdg_tools.spec import ToolContext


@dataclass
class LoopRun:
    task: CodingTask
    ctx: ToolContext  # its workspace
    caller: ToolCaller
    internal: ToolCaller  # workspace_diff, run_tests: the coder's own, outside the policy
    tools: Tools
    llm: CoderLlm
    native: bool
    system: str
    user: str
    state: LoopState
    prefix: str  # of every call's scope: "c<attempt>", "c<attempt>k<candidate>"
    temperature: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)  # a candidate's own seed

    async def loop(self) -> None:
        while self.state.stop_before_call() is None:
            await self.turn()

    async def turn(self) -> None:
        state = self.state
        conversation = messages(self.system, self.user, state.turns, state.limits.context_chars)
        request = ChatRequest(
            role="coder",
            messages=tuple(conversation),
            temperature=self.temperature,
            extra=dict(self.extra),
        )
        result = await self.llm.chat(tools_request(request, self.tools, native=self.native))
        state.spent(result.prompt_tokens, result.completion_tokens)
        answer = result.content
        try:
            name, arguments = parse_tool_call(answer, self.tools)
        except ToolCallError as error:
            known = known_call(answer, self.tools)
            if known is None or known[0] == prompts.FINISH:
                state.record(answer, prompts.error_message(str(error)))
                return
            name, arguments_json = known  # the ToolCaller says what is wrong, and records it
        else:
            if isinstance(arguments, Finish):
                state.finish(arguments.summary)
                return
            arguments_json = arguments.model_dump_json()
        if state.repeats(name, arguments_json):
            state.record(answer, prompts.repeated_message(name))
            state.repeat()
            return
        state.called(name, arguments_json)
        scope = f"{self.prefix}-t{state.steps}"
        outcome = await self.caller.call(self._ctx(scope), name, arguments_json)
        if outcome.waits:
            state.wait(outcome.call_id)
            return
        state.record(answer, prompts.result_message(name, outcome.content))

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

    def _ctx(self, scope: str) -> ToolContext:
        return replace(self.ctx, scope=scope)
