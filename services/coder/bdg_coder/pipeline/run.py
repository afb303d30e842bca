"""One run of the pipeline in one workspace (the I/O around ``edits``): one schema-bound model
call for the edits, each checked and then landed through the coder's own edit tools (recorded
like the loop's calls: ToolCalled under this run's scopes), and, when some failed, one repair
turn saying exactly what failed. Then the run is over: the attempt's change is the workspace's
diff, and the visible tests run on it as for the loop (selection, the tester)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel

from bdg_coder.attempt_run import AttemptRun
from bdg_coder.pipeline import prompts
from bdg_coder.pipeline.edits import (
    Checked,
    Repair,
    check_edit,
    parse_repair,
    report,
    workspace_path,
)
from bdg_llm.api import ChatRequest, Message
from bdg_llm.schema import structured_request
from bdg_tools.calls import ToolCaller
from bdg_tools.catalog import FILE_READ, FileContent, FileEdited, FileWritten, SymbolReplaced

REPAIR_TURNS = 2  # the edits, then at most one turn to correct those that failed
_LANDED: dict[str, type[BaseModel]] = {
    "edit_file": FileEdited,
    "replace_symbol": SymbolReplaced,
    "file_write": FileWritten,
}


@dataclass
class PipelineRun(AttemptRun):
    caller: ToolCaller = field(kw_only=True)  # the model's tools, under the job's policy
    base: Mapping[str, str] = field(kw_only=True)  # path -> content of the localized files
    user: str = field(kw_only=True)
    # Of this run alone (a candidate made from it with ``replace`` starts from ``base`` again):
    files: dict[str, str] = field(init=False)  # as the edits so far left them
    landed: list[str] = field(init=False)  # "path (how)" per edit that landed
    failed: int = field(init=False)  # edits of the last answer that did not

    def __post_init__(self) -> None:
        self.files, self.landed, self.failed = dict(self.base), [], 0

    async def loop(self) -> None:
        conversation = [Message("system", prompts.SYSTEM), Message("user", self.user)]
        answered = False
        while self.state.stop_before_call() is None:
            answer = await self._ask(conversation)
            answered = True
            parsed = parse_repair(answer)
            if isinstance(parsed, str):
                said, checked = parsed, []
            else:
                checked = await self._land(parsed)
                if self.state.stop is not None:  # a gated edit waits for a person
                    return
                said = report(checked)
            self.state.record(answer, said)
            self.failed = sum(1 for c in checked if c.error) if checked else 1
            if not self.failed or self.state.steps >= REPAIR_TURNS:
                break
            changed = sorted(
                {(c.edit.path, self.files[c.edit.path]) for c in checked if not c.error}
            )
            retry = prompts.retry_prompt(said, changed)
            conversation += [Message("assistant", answer), Message("user", retry)]
        if answered:
            self.state.finish(self.summary())

    def summary(self) -> str:
        failed = f" {self.failed} edit(s) could not be applied." if self.failed else ""
        if not self.landed:
            return f"The pipeline's edits did not apply; nothing was changed.{failed}"
        return f"The pipeline applied {len(self.landed)} edit(s): {', '.join(self.landed)}.{failed}"

    async def _ask(self, conversation: list[Message]) -> str:
        request = ChatRequest(
            role="coder",
            messages=tuple(conversation),
            temperature=self.temperature,
            extra=dict(self.extra),
        )
        result = await self.llm.chat(structured_request(request, Repair))
        self.state.spent(result.prompt_tokens, result.completion_tokens)
        return result.content

    async def _land(self, repair: Repair) -> list[Checked]:
        """Check each edit against the files, and land those that pass, in order."""
        turn = self.state.steps
        for number, edit in enumerate(repair.edits, start=1):
            path = workspace_path(edit.path)
            if path not in self.files:  # an existing file not shown must not be overwritten
                await self._read(path, f"{self.prefix}-t{turn}-read{number}")
        out: list[Checked] = []
        for number, edit in enumerate(repair.edits, start=1):
            c = check_edit(number, edit, self.files)  # the file as the edits before left it
            if c.error or c.tool is None or c.arguments is None:
                out.append(c)
                continue
            scope = f"{self.prefix}-t{turn}-e{number}"
            arguments = json.dumps(dict(c.arguments), ensure_ascii=False)
            outcome = await self.caller.call(self._ctx(scope), c.tool, arguments)
            if outcome.waits:
                self.state.wait(outcome.call_id)
                return out
            try:
                _LANDED[c.tool].model_validate_json(outcome.content)
            except ValueError:  # the tool found what the check did not: its error, as it says
                out.append(Checked(number, c.edit, error=outcome.content[:1_000]))
                continue
            self.files[c.edit.path] = c.after
            self.landed.append(f"{c.edit.path} ({c.tool})")
            out.append(c)
        return out

    async def _read(self, path: str, scope: str) -> None:
        arguments = json.dumps({"path": path, "start_line": None, "end_line": None})
        outcome = await self.internal.call(self._ctx(scope), FILE_READ.name, arguments)
        try:
            read = FileContent.model_validate_json(outcome.content)
        except ValueError:
            return  # no such file: an edit may create it
        self.files[path] = read.content  # exists: never written whole as a new file
