"""The model-driven coder: one tool call per turn over the attempt's sandbox workspace.

The workspace is built from the job's recipe; the model is shown the goal, the plan, code from
the index (recorded as CodeContextRetrieved) and, on a retry, why the last attempt failed. Each
turn it picks one tool (file_read, file_write, edit_file, replace_symbol, apply_patch,
list_files, search_code, run_command, run_tests, or ``finish``); the ToolCaller validates, runs
and records the call, and the result is the next message. An answer that is no usable call is
told so and costs its turn. When the loop stops (``finish``, the step limit, the token budget)
the workspace's change is taken as one diff: FilesChanged (when something changed) and
CodingFinished. A gated call that waits for a person stops the attempt without a reaction; the
model calls made so far are recorded aside, and the re-driven attempt takes them again (see
``llm_adapters``).

With ``strategy`` pipeline (``bdg_coder.pipeline``) the same attempt runs no tool loop: the
files are localized, one schema-bound answer of edits lands, and the change is taken the same
way; test-driven selection, parking and replay work alike for both (``attempt_run``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

from bdg_coder import prompts
from bdg_coder.adapters import AbstractCoder, Session
from bdg_coder.attempt_run import AttemptRun
from bdg_coder.check_tool import CHECK_TESTS
from bdg_coder.diff_tool import WORKSPACE_DIFF
from bdg_coder.domain import Changes, CodingTask, Patch, paths_named, query_of
from bdg_coder.llm_adapters import CoderLlm, offered_tools
from bdg_coder.loop_decisions import LoopLimits, LoopState, Stop, cut, summary_of
from bdg_coder.loop_run import LoopRun
from bdg_coder.pipeline.start import pipeline_run
from bdg_coder.run_settings import RunSettings, SelectionSettings
from bdg_coder.selecting.candidates import Selecting, candidate_workspaces
from bdg_coder.strategy import Strategy
from bdg_coder.workspace import AbstractWorkspaces
from bdg_llm.api import LlmClient
from bdg_llm.code_context import render_code_context
from bdg_runtime.reactions import StepError
from bdg_tools.calls import ToolCaller
from bdg_tools.catalog import FILE_READ, RUN_TESTS, FileContent
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
    """The coder's own calls, outside the model's policy: the attempt's diff, reading the
    files the goal names before the first turn, and running a candidate's visible tests (a
    resample's, within a time limit: check_tests)."""
    entries = [_diff_tool(registry)]
    for name in (FILE_READ.name, RUN_TESTS.name, CHECK_TESTS.name):
        if (entry := registry.get(name)) is not None:
            entries.append(entry)
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
        selection: SelectionSettings | None = None,
        strategy: Strategy = Strategy.loop,  # resolved: loop, pipeline or rewrite
    ) -> None:
        self.client, self.registry_for = client, registry_for
        self.workspaces, self.context = workspaces, context
        self.limits = limits or LoopLimits()
        self.native = native
        self.policy = policy or ToolPolicy()
        self.selection = selection or SelectionSettings()
        self.strategy = strategy

    def settings(self) -> dict[str, str]:
        ran = RunSettings(self.limits, self.native, self.policy, self.selection, self.strategy)
        return ran.recorded()

    async def code(self, task: CodingTask, session: Session) -> Changes:
        ctx = session.tool_ctx
        base_commit = await self.workspaces.prepare(ctx.tenant_id, ctx.workspace, task.recipe)
        found = await self._code_context(task, session)
        registry = self.registry_for(task.recipe.repo)
        internal = ToolCaller(_own_tools(registry), session.app)
        llm = CoderLlm(self.client, task.parked.calls)
        caller = ToolCaller(registry, session.app)
        first: AttemptRun
        if self.strategy in (Strategy.pipeline, Strategy.rewrite):
            state = LoopState(self.limits)
            rewrite = self.strategy is Strategy.rewrite
            first = await pipeline_run(
                task, ctx, caller, internal, llm, state, found, rewrite, self.selection
            )
        else:
            first = await self._loop_run(task, ctx, registry, caller, internal, llm, found)
        if self.selection.candidates > 1:
            return await Selecting(self.selection, self.workspaces, session).run(first, base_commit)
        await first.loop()
        if first.state.stop is Stop.waiting:
            return Changes((), waiting=first.state.waiting)
        first.state.end()
        diff = await first.diff()
        patches = (Patch(tuple(diff.paths), diff.patch),) if diff.patch else ()
        return Changes(patches, summary_of(first.state, diff.paths), base_commit=base_commit)

    async def _loop_run(
        self,
        task: CodingTask,
        ctx: ToolContext,
        registry: ToolRegistry,
        caller: ToolCaller,
        internal: ToolCaller,
        llm: CoderLlm,
        found: Retrieved | None,
    ) -> LoopRun:
        tools, offered = offered_tools(registry, ctx.tenant_id, ctx.user_id)
        context = render_code_context(found.hits) if found else ""
        named = await self._named_files(task, ctx, internal)
        return LoopRun(
            task=task,
            ctx=ctx,
            caller=caller,
            internal=internal,
            tools=tools,
            llm=llm,
            native=self.native,
            system=prompts.system_prompt(offered, self.limits.max_steps),
            user=prompts.task_prompt(task, context, named),
            state=LoopState(self.limits),
            prefix=f"c{task.attempt}",
        )

    async def release(self, task: CodingTask, session: Session) -> None:
        ctx = session.tool_ctx
        for workspace in candidate_workspaces(ctx.workspace, self.selection.candidates):
            await self.workspaces.drop(ctx.tenant_id, workspace)

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
