"""One run of the coder's tool loop in one workspace: the conversation, the tools and the state.
What any attempt run shares (its change, its visible tests) is ``attempt_run.AttemptRun``."""

from __future__ import annotations

from dataclasses import dataclass, field

from bdg_coder import prompts
from bdg_coder.attempt_run import AttemptRun
from bdg_coder.llm_adapters import Finish, known_call
from bdg_coder.loop_decisions import messages
from bdg_llm.api import ChatRequest
from bdg_llm.toolcalls import ToolCallError, Tools, parse_tool_call, tools_request
from bdg_tools.calls import ToolCaller


@dataclass
class LoopRun(AttemptRun):
    caller: ToolCaller = field(kw_only=True)
    tools: Tools = field(kw_only=True)
    native: bool = field(kw_only=True)
    system: str = field(kw_only=True)
    user: str = field(kw_only=True)

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
