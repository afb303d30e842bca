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

The diff itself is ``workspace_diff`` (diff_tool.py).
"""

from __future__ import annotations

import abc

from bdg_coder.domain import Recipe
from bdg_runtime.reactions import StepError
from bdg_sandbox.client import SandboxClient, SandboxRequestError

BASE_REF = "refs/bdg/base"
EXCLUDED = (
    "__pycache__/", "*.pyc", ".pytest_cache/", ".mypy_cache/", ".ruff_cache/", ".tox/",
    ".venv/", "node_modules/", ".coverage", "coverage.xml", ".nyc_output/",
)  # fmt: skip
# Options for every git run on a tree the sandbox could have written: no hooks, no fsmonitor.
GIT_FUNCTION = (
    "g() { git -c 'safe.directory=*' -c core.hooksPath=/dev/null -c core.fsmonitor=false "
    '-c core.autocrlf=false -c core.quotePath=false "$@"; }'
)
BASELINE = f"""set -e
{GIT_FUNCTION}
[ -d .git ] || g init -q
if ! g rev-parse -q --verify {BASE_REF} >/dev/null; then
  mkdir -p .git/info
  printf '%s\\n' {" ".join(f"'{p}'" for p in EXCLUDED)} >> .git/info/exclude
  g add -A
  g update-ref {BASE_REF} "$(g write-tree)"
fi
"""
GIT_TIMEOUT_S = 120.0


class AbstractWorkspaces(abc.ABC):
    @abc.abstractmethod
    async def prepare(self, tenant_id: str, workspace: str, recipe: Recipe) -> str:
        """The workspace, built from ``recipe`` with its baseline (again: nothing changes);
        the commit its base resolved to ("" when the source has none)."""

    async def drop(self, tenant_id: str, workspace: str) -> None:
        """The attempt is recorded: its workspace may go."""
        return None


class NoWorkspaces(AbstractWorkspaces):
    """A replay builds nothing: every tool result comes from the log, and the base commit is
    the one the job recorded."""

    def __init__(self, base_commit: str = "") -> None:
        self.base_commit = base_commit

    async def prepare(self, tenant_id: str, workspace: str, recipe: Recipe) -> str:
        return self.base_commit


class SandboxWorkspaces(AbstractWorkspaces):
    def __init__(self, client: SandboxClient) -> None:
        self.client = client

    async def prepare(self, tenant_id: str, workspace: str, recipe: Recipe) -> str:
        try:
            commit = await self.client.create_workspace(
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
        return commit or ""

    async def drop(self, tenant_id: str, workspace: str) -> None:
        await self.client.drop_workspace(tenant_id, workspace)
