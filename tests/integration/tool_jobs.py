"""A job at its coding step and a tool caller whose executor counts its runs: what the tests of
gated tool calls (test_tools_gate.py, test_cross_tenant.py) start from."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx
from pydantic import BaseModel

from bdg_jobs.domain import Cause, Job
from bdg_tools import catalog as c
from bdg_tools.calls import ToolCaller
from bdg_tools.policy import ToolPolicy
from bdg_tools.registry import ToolRegistry
from bdg_tools.spec import ToolContext
from tests.gateway_stack import Keys, Stack

COMMAND = json.dumps({"argv": ["make", "deploy"], "timeout_s": None})


@dataclass
class Counting:
    runs: list[Any] = field(default_factory=list)

    async def execute(self, arguments: Any, ctx: ToolContext) -> BaseModel | str:
        self.runs.append(arguments)
        return c.CommandResult(exit_code=0, stdout="deployed", stderr="")


def to_coding(job: Job, cause: Cause) -> None:
    job.make_plan_ready(cause, "- [ ] deploy it")
    job.approve_plan(cause, "alice")


async def coding_job(client: httpx.AsyncClient, keys: Keys, stack: Stack, tenant: str) -> UUID:
    response = await client.post(
        "/jobs", json={"goal": "ship it"}, headers=keys.headers(tenant, sub="alice")
    )
    assert response.status_code == 201, response.text
    job_id = UUID(response.json()["id"])
    await stack.decide(job_id, to_coding)
    return job_id


def caller_for(stack: Stack, executor: Counting, policy: ToolPolicy | None = None) -> ToolCaller:
    registry = ToolRegistry([c.RUN_COMMAND.bind(executor)], env={}, policy=policy)
    return ToolCaller(registry, stack.app)
