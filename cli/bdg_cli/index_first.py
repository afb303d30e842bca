"""Index a job's repository before the job starts, so the planner is shown its code.

The planner grounds a plan in what the indexer finds for the goal; a repository nobody
registered has no index, and a small model then plans blind (it invents file names). The live
demo and the agent bench make a repository on the spot, so they register it here first, as
`bdg index add` does (``RepoCommands``, the same source rules), and wait for the indexer to
settle, within a bound: a job on a repository the indexer did not finish is planned without
code, and the reason is said.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from bdg_cli.index_progress import SETTLED, Row, statuses
from bdg_contracts import commands as cmd
from bdg_contracts.ids import new_event_id
from bdg_jobs.domain import Cause
from bdg_jobs.repo_commands import RepoCommands
from bdg_jobs.user_commands import Caller

POLL_SECONDS = 0.25  # between looks at the indexer's status row


@dataclass(frozen=True)
class Indexed:
    state: str  # ready | failed | pending/indexing (not settled within the bound)
    files: int = 0
    chunks: int = 0
    reason: str = ""

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    def describe(self) -> str:
        if self.ready:
            return f"indexed: {self.files} files, {self.chunks} chunks"
        return f"not indexed ({self.state}): {self.reason}; the plan is made without code"


async def index_for_job(
    repos: RepoCommands, database_url: str, who: Caller, repo: str, ref: str, within: float
) -> Indexed:
    """Register ``repo`` at ``ref`` for ``who``'s tenant (again: unchanged) and wait up to
    ``within`` seconds for the indexer to make it ready."""
    cause = Cause(f"user:{who.user_id}", repos.clock(), new_event_id(), who.user_id)
    registration = await repos.register(cause, who.tenant_id, cmd.RegisterRepo(repo=repo, ref=ref))
    repo_id = registration.index.repo_id
    deadline = time.monotonic() + within
    while True:
        found = await asyncio.to_thread(statuses, database_url, who.tenant_id)
        row = next((r for r in found if r.repo_id == repo_id), None)
        if row is not None and row.state in SETTLED:
            return _outcome(row)
        if time.monotonic() > deadline:
            state = row.state if row is not None else "pending"
            why = "no indexer took it up" if state == "pending" else "the indexer is still at it"
            return Indexed(state, reason=f"{why} after {within:.0f} s")
        await asyncio.sleep(POLL_SECONDS)


def _outcome(row: Row) -> Indexed:
    if row.state == "ready":
        return Indexed("ready", row.files, row.chunks)
    return Indexed(row.state, reason=row.phase or "indexing failed")
