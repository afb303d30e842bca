"""``workspace_diff``: the attempt's change, as git sees it in the sandbox workspace.

It stages everything and diffs it against the baseline tree the workspace was prepared with
(``--binary``, ``--full-index``, no rename detection): edits, new files, deletions and mode
changes alike, whichever tool made them. It is a tool of the coder's own registry, never offered
to the model and outside its policy, so the ToolCaller records its result (ToolCalled) and a
replay reads it back instead of running it (``NotRecorded`` is every executor of a replay).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bdg_coder.workspace import BASE_REF, GIT_FUNCTION, GIT_TIMEOUT_S
from bdg_sandbox.client import SandboxClient, SandboxRequestError
from bdg_tools.calls import MAX_RESULT_CHARS
from bdg_tools.retry import TransientToolError
from bdg_tools.spec import Tool, ToolContext, ToolFailure

# The changed paths (NUL-terminated), one more NUL, then the patch.
DIFF = f"""set -e
{GIT_FUNCTION}
g add -A
g diff --cached --no-renames --name-only -z {BASE_REF}
printf '\\0'
g diff --cached --no-renames --binary --full-index {BASE_REF}
"""
MAX_PATCH_CHARS = MAX_RESULT_CHARS - 10_000  # the result is stored in one event, with paths


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WorkspaceDiff(Model):
    """No arguments: the whole change of the attempt so far."""


class Diff(Model):
    patch: str = Field(description="unified diff (git, binary-safe) against the baseline")
    paths: list[str] = Field(default_factory=list)


WORKSPACE_DIFF = Tool(
    "workspace_diff",
    "The attempt's change: every file of the workspace against its baseline, as a diff.",
    WorkspaceDiff,
    Diff,
)


def read_diff(output: bytes) -> Diff:
    """``DIFF``'s output: the NUL-terminated paths, an empty entry, then the patch."""
    if output.startswith(b"\0"):  # no path changed
        names, patch = b"", output[1:]
    else:
        names, _, patch = output.partition(b"\0\0")
    paths = [n.decode("utf-8", errors="replace") for n in names.split(b"\0") if n]
    return Diff(patch=patch.decode("utf-8", errors="replace"), paths=paths)


def sandbox_failure(error: SandboxRequestError) -> Exception:
    if error.code == "unavailable":
        return TransientToolError(str(error))
    return ToolFailure(str(error))


class SandboxDiff:
    """workspace_diff's executor: git in the sandbox."""

    def __init__(self, client: SandboxClient) -> None:
        self.client = client

    async def execute(self, arguments: Any, ctx: ToolContext) -> BaseModel | str:
        try:
            run = await self.client.exec(
                ctx.tenant_id,
                ctx.workspace_id,
                ["sh", "-c", DIFF],
                keep_output=4 * MAX_RESULT_CHARS,
                limits={"timeout_s": GIT_TIMEOUT_S},
            )
        except SandboxRequestError as error:
            raise sandbox_failure(error) from error
        if not run.ok:
            raise ToolFailure(f"git diff failed: {run.stderr.decode(errors='replace')[-2000:]}")
        diff = read_diff(run.stdout)
        if len(diff.patch) > MAX_PATCH_CHARS:
            raise ToolFailure(
                f"the change is {len(diff.patch)} characters of diff, over the "
                f"{MAX_PATCH_CHARS} one event holds ({', '.join(diff.paths[:20])})"
            )
        return diff


class NotRecordedError(LookupError):
    """A replay asked for a tool call the recorded run never made."""


class NotRecorded:
    """The executor of every tool in a replay: recorded results come from the job's history
    first (the ToolCaller's ledger); reaching this means the run diverged."""

    async def execute(self, arguments: Any, ctx: ToolContext) -> BaseModel | str:
        raise NotRecordedError(
            f"replay: the recorded run made no such call ({type(arguments).__name__} "
            f"{arguments!r} in scope {ctx.scope!r}); nothing is run in a replay"
        )
