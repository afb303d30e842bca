"""Judge one benchmark job: the task's repository plus the job's FilesChanged patches in a fresh
sandbox workspace, the task's hidden files written into its root, `hidden_test` run there with
no network. Exit 0 means solved."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bdg_contracts.sandbox import Limits
from bdg_sandbox.client import SandboxClient, SandboxRequestError
from bdg_tester.sandbox.env import SYSTEM_PATH
from bench.agent_tasks.tasks import AgentTask

ENV = {"PATH": SYSTEM_PATH, "HOME": "/tmp", "LANG": "C.UTF-8"}
LIMITS = Limits(timeout_s=120, pids=512)


@dataclass(frozen=True)
class Verdict:
    solved: bool
    detail: str  # why not, or the hidden test's last line


def patches(history: list[Event]) -> list[str]:
    return [e.patch for e in history if isinstance(e, ev.FilesChanged)]


async def judge(
    client: SandboxClient,
    task: AgentTask,
    repo: Path,
    commit: str,
    history: list[Event],
    tenant: str,
) -> Verdict:
    """``tenant``: the job's, whose grant (BDG_SOURCE_GRANTS) covers ``repo``; sandboxd
    refuses a source outside the roots granted to the tenant asking."""
    workspace = f"{task.id}-{uuid4().hex[:8]}"
    try:
        await client.create_workspace(tenant, workspace, str(repo), commit, patches(history))
    except SandboxRequestError as error:
        return Verdict(False, f"the job's patches do not apply: {error}")
    try:
        for path, text in task.hidden_files().items():
            await client.write_file(tenant, workspace, path, text.encode())
        result = await client.exec(
            tenant, workspace, list(task.hidden_test), env=ENV, limits=LIMITS, network="none"
        )
    finally:
        await client.drop_workspace(tenant, workspace)
    output = (result.stdout + result.stderr).decode(errors="replace")
    code = result.exited.code
    said = tally(output)
    return Verdict(code == 0, said if code == 0 else f"hidden test exit {code}: {said}")


def tally(output: str) -> str:
    """The runner's own count: node's ``# tests/# pass/# fail`` lines, else the last line
    (unittest's ``OK`` or ``FAILED (failures=2)``)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    node = [ln[2:] for ln in lines if ln.startswith(("# tests ", "# pass ", "# fail "))]
    return ", ".join(node) if node else (lines[-1] if lines else "no output")
