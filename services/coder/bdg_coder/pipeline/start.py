"""The pipeline's first step, localize, with I/O: the ranked files (``localize.candidates``)
read through the coder's recorded ``file_read`` (a replay reads them from the log), those that
do not exist left out, until ``MAX_FILES`` are found; then the run, ready to repair."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from bdg_coder.domain import CodingTask
from bdg_coder.llm_adapters import CoderLlm
from bdg_coder.loop_decisions import LoopState
from bdg_coder.pipeline import prompts
from bdg_coder.pipeline.localize import MAX_FILES, candidates, fit
from bdg_coder.pipeline.rewrite_run import RewriteRun
from bdg_coder.pipeline.run import PipelineRun
from bdg_coder.run_settings import NO_SELECTION, SelectionSettings
from bdg_tools.calls import ToolCaller
from bdg_tools.catalog import FILE_READ, FileContent
from bdg_tools.code_context import Retrieved
from bdg_tools.spec import ToolContext

MAX_TRIED = 12  # paths read looking for MAX_FILES that exist


async def localized(
    task: CodingTask, ctx: ToolContext, internal: ToolCaller, found: Retrieved | None
) -> dict[str, str]:
    """path -> content of the files to show, best first."""
    hits = found.hits if found else ()
    files: dict[str, str] = {}
    for number, path in enumerate(
        candidates(task.goal, task.plan_markdown, task.feedback, hits)[:MAX_TRIED]
    ):
        arguments = json.dumps({"path": path, "start_line": None, "end_line": None})
        scope = f"c{task.attempt}-local-{number}"
        outcome = await internal.call(replace(ctx, scope=scope), FILE_READ.name, arguments)
        try:
            files[path] = FileContent.model_validate_json(outcome.content).content
        except ValueError:
            continue  # a file the change is to create, or one that cannot be read
        if len(files) >= MAX_FILES:
            break
    return files


async def pipeline_run(
    task: CodingTask,
    ctx: ToolContext,
    caller: ToolCaller,
    internal: ToolCaller,
    llm: CoderLlm,
    state: LoopState,
    found: Retrieved | None,
    rewrite: bool = False,
    selection: SelectionSettings = NO_SELECTION,
) -> PipelineRun:
    """The run, ready to repair: with ``rewrite``, one whole definition per answer (the edits'
    prompt kept for a goal with no definition to write), resampled as ``selection`` says."""
    files = await localized(task, ctx, internal, found)
    shown = fit(list(files.items()), state.limits.context_chars)
    run = PipelineRun
    extra: dict[str, Any] = {}
    if rewrite:
        hits = sorted(found.hits, key=lambda hit: -hit.score) if found else []
        run = RewriteRun
        extra["hit_paths"] = [hit.path.removeprefix("/workspace/") for hit in hits]
        extra["resamples"] = selection.resamples
        extra["early_resample"] = selection.early_resample
        extra["check_argv"] = selection.check_argv
    return run(
        task=task,
        ctx=ctx,
        internal=internal,
        llm=llm,
        state=state,
        prefix=f"c{task.attempt}",
        caller=caller,
        base=files,
        user=prompts.task_prompt(task, shown),
        **extra,
    )
