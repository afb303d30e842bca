"""An external MCP server's tools in the registry: a real stdio server made with the mcp package."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import pytest
from mcp import StdioServerParameters

from bdg_contracts import events as ev
from bdg_jobs.domain import Cause, Job
from bdg_tools import outcomes as oc
from bdg_tools.calls import ToolCaller
from bdg_tools.mcp_source import McpServer
from bdg_tools.policy import ToolPolicy
from bdg_tools.registry import ToolRegistry
from bdg_tools.spec import ToolContext, ToolFailure
from tests.gateway_stack import Stack, new_tenant

pytestmark = pytest.mark.timeout(60)

SERVER = '''
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("calc")


@server.tool()
def add(a: int, b: int = 1) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def shout(text: str) -> str:
    """Upper-case a text."""
    return text.upper()


@server.tool()
def explode(reason: str) -> str:
    """Always fails."""
    raise ToolError(reason)


@server.tool()
def anything(data: dict[str, Any]) -> str:
    """Takes a free-form mapping."""
    return ",".join(sorted(data))


server.run()
'''


@pytest.fixture(name="calc", scope="module")
async def calc_fixture(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[McpServer]:
    script = tmp_path_factory.mktemp("mcp") / "calc_server.py"
    script.write_text(SERVER)
    params = StdioServerParameters(command=sys.executable, args=[str(script)])
    async with McpServer("calc", params, timeout=20) as server:
        yield server


def ctx(job_id: UUID, tenant: str = "tenant-a") -> ToolContext:
    return ToolContext(job_id, tenant, "coder", user_id="alice")


async def test_the_servers_tools_become_strict_gated_entries(calc: McpServer) -> None:
    entries = {e.name: e for e in await calc.entries()}
    assert set(entries) == {"calc__add", "calc__shout", "calc__explode", "calc__anything"}
    add = entries["calc__add"]
    assert add.source == "mcp:calc"
    assert add.approval == "gate"  # external code: a person approves unless the policy says
    assert add.declaration.description == "Add two integers."
    params = add.declaration.parameters
    assert add.declaration.strict
    assert params["required"] == ["a", "b"]
    assert params["additionalProperties"] is False
    assert params["properties"]["b"]["anyOf"][1] == {"type": "null"}
    assert not entries["calc__anything"].declaration.strict  # a free-form mapping


async def test_calls_go_to_the_server(calc: McpServer) -> None:
    entries = {e.name: e for e in await calc.entries()}
    job = ctx(UUID(int=1))
    add = entries["calc__add"]
    assert await add.executor.execute(add.parse({"a": 2, "b": None}), job) == "3"
    assert await add.executor.execute(add.parse({"a": 2, "b": 5}), job) == "7"
    shout = entries["calc__shout"]
    assert await shout.executor.execute(shout.parse({"text": "hi"}), job) == "HI"
    explode = entries["calc__explode"]
    with pytest.raises(ToolFailure, match="boom"):
        await explode.executor.execute(explode.parse({"reason": "boom"}), job)


async def test_mcp_tools_through_the_call_pipeline(calc: McpServer, stack: Stack) -> None:
    tenant = new_tenant()
    cause = Cause("test", stack.app.clock())
    job = Job.request(uuid4(), tenant, cause, goal="add numbers")
    job.make_plan_ready(cause, "- [ ] add")
    job.approve_plan(cause, "alice")
    await stack.app.start(job)
    policy = ToolPolicy.model_validate({"tenants": {tenant: {"tools": {"calc__add": "auto"}}}})
    registry = ToolRegistry(await calc.entries(), env={}, policy=policy)
    caller = ToolCaller(registry, stack.app)

    ran = await caller.call(ctx(job.job_id, tenant), "calc__add", '{"a": 40, "b": 2}')
    assert isinstance(ran, oc.Ran)
    assert ran.content == "42"
    again = await caller.call(ctx(job.job_id, tenant), "calc__add", '{"b": 2, "a": 40}')
    assert isinstance(again, oc.Replayed)

    bad = await caller.call(ctx(job.job_id, tenant), "calc__add", '{"a": "forty"}')
    assert isinstance(bad, oc.Rejected)
    assert "'forty' is not of type 'integer'" in bad.content

    gated = await caller.call(ctx(job.job_id, tenant), "calc__shout", '{"text": "x"}')
    assert isinstance(gated, oc.AwaitingApproval)

    history = await stack.app.history(job.job_id)
    called = [e for e in history if isinstance(e, ev.ToolCalled)]
    assert [(e.tool, json.loads(e.arguments_json), e.result) for e in called] == [
        ("calc__add", {"a": 40, "b": 2}, "42")
    ]
