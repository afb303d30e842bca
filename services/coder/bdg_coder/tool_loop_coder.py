"""The model-driven coder: one tool call per turn over the attempt's sandbox workspace.

The workspace is built from the job's recipe; the model is shown the goal, the plan, code from
the index (recorded as CodeContextRetrieved) and, on a retry, why the last attempt failed. Each
turn it picks one tool (file_read, file_write, edit_file, apply_patch, list_files, search_code,
run_command, run_tests, or ``finish``); the ToolCaller validates, runs and records the call,
and the result is the next message. An answer that is no usable call is told so and costs its
turn. When the loop stops (``finish``, the step limit, the token budget) the workspace's change
is taken as one diff: FilesChanged (when something changed) and CodingFinished. A gated call
that waits for a person stops the attempt without a reaction; the model calls made so far are
recorded aside, and the re-driven attempt takes them again (see ``llm_adapters``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace

from bdg_coder import prompts
from bdg_coder.adapters import AbstractCoder, Session
from bdg_coder.diff_tool import WORKSPACE_DIFF, Diff
from bdg_coder.domain import Changes, CodingTask, Patch, paths_named, query_of
from bdg_coder.llm_adapters import CoderLlm, Finish, known_call, offered_tools
from bdg_coder.loop_decisions import LoopLimits, LoopState, Stop, cut, messages, summary_of
from bdg_coder.run_settings import RunSettings
from bdg_coder.workspace import AbstractWorkspaces
from bdg_llm.api import ChatRequest, LlmClient
from bdg_llm.code_context import render_code_context
from bdg_llm.toolcalls import ToolCallError, Tools, parse_tool_call, tools_request
from bdg_runtime.reactions import StepError
from bdg_tools.calls import ToolCaller
from bdg_tools.catalog import FILE_READ, FileContent
from bdg_tools.code_context import AbstractCodeContext, Retrieved
from bdg_tools.policy import ToolPolicy
from bdg_tools.registry import ToolRegistry
from bdg_tools.spec import ToolContext, ToolEntry

RegistryFor = Callable[[str], ToolRegistry]  # the job's repository -> the tools for it


def _diff_tool(registry: ToolRegistry) -> ToolEntry:
    entry = registry.get(WORKSPACE_DIFF.name)
    if entry is None:
        raise StepError(f"the coder's tools have no {WORKSPACE_DIFF.name}: its change is lost")
    return entry


def _own_tools(registry: ToolRegistry) -> ToolRegistry:
    """The coder's own calls, outside the model's policy: the attempt's diff, and reading the
    files the goal names before the first turn."""
    entries = [_diff_tool(registry)]
    if (read := registry.get(FILE_READ.name)) is not None:
        entries.append(read)
    return ToolRegistry(entries, env={})


class ToolLoopCoder(AbstractCoder):
    def __init__(
        self,
        client: LlmClient,
        registry_for: RegistryFor,
        workspaces: AbstractWorkspaces,
        context: AbstractCodeContext,
        limits: LoopLimits | None = None,
        native: bool = False,
        policy: ToolPolicy | None = None,  # the registries' (recorded with the job's settings)
    ) -> None:
        self.client, self.registry_for = client, registry_for
        self.workspaces, self.context = workspaces, context
        self.limits = limits or LoopLimits()
        self.native = native
        self.policy = policy or ToolPolicy()

    def settings(self) -> dict[str, str]:
        return RunSettings(self.limits, self.native, self.policy).recorded()

    async def code(self, task: CodingTask, session: Session) -> Changes:
        ctx = session.tool_ctx
        base_commit = await self.workspaces.prepare(ctx.tenant_id, ctx.workspace, task.recipe)
        found = await self._code_context(task, session)
        registry = self.registry_for(task.recipe.repo)
        caller = ToolCaller(registry, session.app)
        tools, offered = offered_tools(registry, ctx.tenant_id, ctx.user_id)
        system = prompts.system_prompt(offered, self.limits.max_steps)
        context = render_code_context(found.hits) if found else ""
        internal = ToolCaller(_own_tools(registry), session.app)
        named = await self._named_files(task, ctx, internal)
        run = _Run(
            task=task,
            ctx=ctx,
            caller=caller,
            internal=internal,
            tools=tools,
            llm=CoderLlm(self.client, task.parked.calls),
            native=self.native,
            system=system,
            user=prompts.task_prompt(task, context, named),
            state=LoopState(self.limits),
        )
        while run.state.stop_before_call() is None:
            await run.turn()
        if run.state.stop is Stop.waiting:
            return Changes((), waiting=run.state.waiting)
        run.state.end()
        diff = await run.diff()
        patches = (Patch(tuple(diff.paths), diff.patch),) if diff.patch else ()
        return Changes(patches, summary_of(run.state, diff.paths), base_commit=base_commit)

    async def release(self, task: CodingTask, session: Session) -> None:
        await self.workspaces.drop(session.tool_ctx.tenant_id, session.tool_ctx.workspace)

    async def _named_files(
        self, task: CodingTask, ctx: ToolContext, internal: ToolCaller
    ) -> list[tuple[str, str]]:
        """The files the goal and plan name, read through the recorded tool path (a replay
        reads them from the log); one that does not exist yet is left out. Bounded, so the
        conversation keeps room for the turns."""
        budget = min(self.limits.result_chars, self.limits.context_chars // 4)
        shown: list[tuple[str, str]] = []
        for number, path in enumerate(paths_named(task.goal, task.plan_markdown)):
            arguments = json.dumps({"path": path, "start_line": None, "end_line": None})
            scope = f"c{task.attempt}-named-{number}"
            outcome = await internal.call(replace(ctx, scope=scope), FILE_READ.name, arguments)
            try:
                read = FileContent.model_validate_json(outcome.content)
            except ValueError:
                continue  # a file the change is to create, or one that cannot be read
            text = cut(read.content, budget)
            shown.append((path, text))
            budget -= len(text)
            if budget <= 0:
                break
        return shown

    async def _code_context(self, task: CodingTask, session: Session) -> Retrieved | None:
        """The code an earlier run of this attempt was shown, else the index's (recorded at
        once, so a re-run is shown the same)."""
        parked = task.parked.context
        if parked is not None:
            return Retrieved(parked.query, parked.repo, parked.hits, parked.note)
        repo = task.recipe.repo
        if not repo:
            return None  # no repository, no index
        ctx = session.tool_ctx
        found = await self.context.retrieve(
            ctx.tenant_id, repo, query_of(task.goal, task.plan_markdown)
        )
        await session.record_aside(
            lambda job, cause: job.record_code_context(
                cause, query=found.query, repo=found.repo, hits=found.hits, note=found.note
            )
        )
        return found


@dataclass
class _Run:
    """One attempt's loop: the conversation, the tools and the state."""

    task: CodingTask
    ctx: ToolContext
    caller: ToolCaller
    internal: ToolCaller  # workspace_diff: the coder's own call, outside the model's policy
    tools: Tools
    llm: CoderLlm
    native: bool
    system: str
    user: str
    state: LoopState

    async def turn(self) -> None:
        state = self.state
        conversation = messages(self.system, self.user, state.turns, state.limits.context_chars)
        request = ChatRequest(role="coder", messages=tuple(conversation))
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
            return
        state.called(name, arguments_json)
        scope = f"c{self.task.attempt}-t{state.steps}"
        outcome = await self.caller.call(self._ctx(scope), name, arguments_json)
        if outcome.waits:
            state.wait(outcome.call_id)
            return
        state.record(answer, prompts.result_message(name, outcome.content))

    async def diff(self) -> Diff:
        """The attempt's change, taken once per conversation (a re-run that made the same
        calls gets the recorded diff; one that went elsewhere takes a new one)."""
        digest = hashlib.sha256()
        for turn in self.state.turns:
            for text in (turn.answer, turn.result):
                digest.update(f"{len(text)}:{text}".encode())
        scope = f"c{self.task.attempt}-end-{digest.hexdigest()[:16]}"
        outcome = await self.internal.call(self._ctx(scope), WORKSPACE_DIFF.name, "{}")
        try:
            return Diff.model_validate_json(outcome.content)
        except ValueError:
            raise StepError(f"the attempt's change cannot be taken: {outcome.content}") from None

    def _ctx(self, scope: str) -> ToolContext:
        return replace(self.ctx, scope=scope)
