"""Progress reports on the job's WebSocket: a report published on the job's progress subject
(core NATS, as the tester sends it) comes as a ``{"type": "progress"}`` frame beside the job's
events, without its tenant; a report that does not read as one, or names another job, sends
nothing, and the next good one still comes."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import uuid4

import pytest
from websockets.asyncio.client import ClientConnection, connect

from bdg_contracts import commands as cmd
from bdg_contracts import subjects
from bdg_contracts.progress import InstallProgress, InstallState
from bdg_jobs.user_commands import Caller
from tests.gateway_stack import Keys, Stack, new_tenant

pytestmark = pytest.mark.timeout(60)


async def next_frame(ws: ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if message.get("type") == kind:
            return message


async def test_a_report_comes_as_a_frame_and_bad_or_foreign_ones_do_not(
    stack: Stack, keys: Keys, live_url: str
) -> None:
    tenant = new_tenant()
    job = (await stack.commands.create(Caller(tenant, "alice"), cmd.RequestJob(goal="g"))).job_id
    subject = subjects.job_progress(tenant, job)

    def report(lines: int, **changes: Any) -> bytes:
        fields: dict[str, Any] = {
            "tenant_id": tenant,
            "job_id": job,
            "attempt": 1,
            "project": ".",
            "state": InstallState.running,
            "elapsed_s": 4.5,
            "output_lines": lines,
        }
        return InstallProgress(**{**fields, **changes}).model_dump_json().encode()

    url = f"{live_url}/jobs/{job}/stream?token={keys.token(tenant)}"
    async with connect(url) as ws:
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["name"] == "JobRequested"
        # Subscribed once the backfill is sent? Publish until the first report arrives.
        first: asyncio.Task[dict[str, Any]] = asyncio.create_task(next_frame(ws, "progress"))
        while not first.done():
            await stack.nc.publish(subject, report(7))
            await asyncio.wait({first}, timeout=0.2)  # a publish period, not a wait for an event
        got = first.result()
        assert got == {
            "type": "progress",
            "kind": "install",
            "job_id": str(job),
            "attempt": 1,
            "project": ".",
            "state": "running",
            "elapsed_s": 4.5,
            "output_lines": 7,
        }
        await stack.nc.publish(subject, b'{"state": "running"}')  # not a report
        await stack.nc.publish(subject, report(8, job_id=uuid4()))  # another job's
        await stack.nc.publish(subject, report(9, state=InstallState.finished))
        seen = await next_frame(ws, "progress")
        while seen["output_lines"] == 7:  # the first loop's extra publishes
            seen = await next_frame(ws, "progress")
    assert (seen["state"], seen["output_lines"]) == ("finished", 9)
