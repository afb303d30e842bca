"""The attempt's workspace in the sandbox: built from the job's recipe, with a baseline to diff
against, and its change taken as a unified diff at the end.

The workspace ``<job>-c<attempt>`` is the repository at the job's base ref plus every earlier
FilesChanged patch (sandboxd builds it; asking again with the same recipe is a no-op). git then
records the baseline inside the workspace (``refs/bdg/base``, a tree of every file, made once),
and ``workspace_diff`` stages everything and diffs it against that tree (``--binary``, no rename
detection): edits, new files, deletions and mode changes alike, whichever tool made them.
Caches that running code leaves behind (``__pycache__``, ``.pytest_cache``, ``node_modules``...)
are kept out through ``.git/info/exclude``; the repository's ``.gitignore`` holds too. git runs
in the sandbox, as the sandbox user.

``workspace_diff`` is a tool of the coder's own registry (never offered to the model), so the
ToolCaller records its result (ToolCalled) and a replay reads it back instead of running it.
"""

from __future__ import annotations

import abc
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bdg_coder.domain import Recipe
from bdg_runtime.reactions import StepError
from bdg_sandbox.client import SandboxClient, SandboxRequestError
from bdg_tools.calls import MAX_RESULT_CHARS
from bdg_tools.retry import TransientToolError
from bdg_tools.spec import Tool, ToolContext, ToolFailure

BASE_REF = "refs/bdg/base"
EXCLUDED = (
    "__pycache__/", "*.pyc", ".pytest_cache/", ".mypy_cache/", ".ruff_cache/", ".tox/",
    ".venv/", "node_modules/", ".coverage", "coverage.xml", ".nyc_output/",
)  # fmt: skip
# Options for every git run on a tree the sandbox could have written: no hooks, no fsmonitor.
_GIT = (
    "g() { git -c 'safe.directory=*' -c core.hooksPath=/dev/null -c core.fsmonitor=false "
    '-c core.autocrlf=false -c core.quotePath=false "$@"; }'
)
BASELINE = f"""set -e
{_GIT}
[ -d .git ] || g init -q
if ! g rev-parse -q --verify {BASE_REF} >/dev/null; then
  mkdir -p .git/info
  printf '%s\\n' {" ".join(f"'{p}'" for p in EXCLUDED)} >> .git/info/exclude
  g add -A
  g update-ref {BASE_REF} "$(g write-tree)"
fi
"""
# The changed paths (NUL-terminated), one more NUL, then the patch.
DIFF = f"""set -e
{_GIT}
g add -A
g diff --cached --no-renames --name-only -z {BASE_REF}
printf '\\0'
g diff --cached --no-renames --binary --full-index {BASE_REF}
"""
GIT_TIMEOUT_S = 120.0
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


def _failure(error: SandboxRequestError) -> Exception:
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
            raise _failure(error) from error
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


class AbstractWorkspaces(abc.ABC):
    @abc.abstractmethod
    async def prepare(self, tenant_id: str, workspace: str, recipe: Recipe) -> None:
        """The workspace, built from ``recipe`` with its baseline (again: nothing changes)."""

    async def drop(self, tenant_id: str, workspace: str) -> None:
        """The attempt is recorded: its workspace may go."""
        return None


class NoWorkspaces(AbstractWorkspaces):
    """A replay builds nothing: every tool result comes from the log."""

    async def prepare(self, tenant_id: str, workspace: str, recipe: Recipe) -> None:
        return None


class SandboxWorkspaces(AbstractWorkspaces):
    def __init__(self, client: SandboxClient) -> None:
        self.client = client

    async def prepare(self, tenant_id: str, workspace: str, recipe: Recipe) -> None:
        try:
            await self.client.create_workspace(
                tenant_id, workspace, recipe.repo, recipe.base_ref, list(recipe.patches)
            )
            run = await self.client.exec(
                tenant_id, workspace, ["sh", "-c", BASELINE], limits={"timeout_s": GIT_TIMEOUT_S}
            )
        except SandboxRequestError as error:
            if error.code == "unavailable":
                raise  # the sandbox is restarting: the delivery is tried again
            raise StepError(f"the workspace {workspace} cannot be built: {error}") from error
        if not run.ok:
            raise StepError(
                f"the workspace {workspace} has no baseline to diff against: "
                f"{run.stderr.decode(errors='replace')[-2000:]}"
            )

    async def drop(self, tenant_id: str, workspace: str) -> None:
        await self.client.drop_workspace(tenant_id, workspace)
