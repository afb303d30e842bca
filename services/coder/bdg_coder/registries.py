"""The coder's tools: the built-in workspace tools through the sandbox, code search through the
indexer (scoped to the job's repository), and ``workspace_diff``; or, for a replay, the same
tools with nothing behind them (their results come from the job's recorded tool events); and
the coder's own ``check_tests``."""

from __future__ import annotations

from typing import Any

from nats.aio.client import Client

from bdg_coder.check_tool import CHECK_TESTS, SandboxCheck
from bdg_coder.diff_tool import WORKSPACE_DIFF, NotRecorded, SandboxDiff
from bdg_coder.tool_loop_coder import RegistryFor
from bdg_sandbox.client import SandboxClient
from bdg_tools import catalog as c
from bdg_tools.executors import IndexSearch, SandboxTools
from bdg_tools.policy import ToolPolicy
from bdg_tools.registry import ToolRegistry
from bdg_tools.spec import Tool, ToolEntry

SANDBOX_TOOLS: tuple[Tool[Any, Any], ...] = (
    c.FILE_READ, c.FILE_WRITE, c.EDIT_FILE, c.REPLACE_SYMBOL, c.APPLY_PATCH, c.LIST_FILES,
    c.RUN_COMMAND, c.RUN_TESTS,
)  # fmt: skip


def live_registry(
    sandbox: SandboxClient, nc: Client, policy: ToolPolicy, search_timeout: float = 10.0
) -> RegistryFor:
    tools = SandboxTools(sandbox)
    own = [WORKSPACE_DIFF.bind(SandboxDiff(sandbox)), CHECK_TESTS.bind(SandboxCheck(sandbox))]

    def for_repo(repo: str) -> ToolRegistry:
        entries: list[ToolEntry] = [t.bind(tools) for t in SANDBOX_TOOLS]
        entries += [c.SEARCH_CODE.bind(IndexSearch(nc, repo, search_timeout)), *own]
        return ToolRegistry(entries, env={}, policy=policy)

    return for_repo


def replay_registry(policy: ToolPolicy) -> RegistryFor:
    nothing = NotRecorded()
    own = (WORKSPACE_DIFF, CHECK_TESTS)
    entries = [t.bind(nothing) for t in (*SANDBOX_TOOLS, c.SEARCH_CODE, *own)]

    def for_repo(repo: str) -> ToolRegistry:
        return ToolRegistry(entries, env={}, policy=policy)

    return for_repo
