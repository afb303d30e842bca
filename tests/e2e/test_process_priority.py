"""Service processes run background work below the API's CPU priority, on uvloop (see
bdg_runtime/process_priority.py): checked on real service processes doing a real job."""

from __future__ import annotations

import psutil
import pytest

from bdg_contracts import commands as cmd
from bdg_contracts.states import JobState
from tests.e2e.conftest import Client_
from tests.e2e.harness import Cluster, ServiceProcess, eventually, wait_for_state


async def said(process: ServiceProcess, line: str) -> bool:
    return line in process.output()


@pytest.mark.timeout(90)
async def test_workers_run_niced_on_uvloop_and_still_finish_a_job(
    cluster: Cluster, client: Client_
) -> None:
    cluster.start_all()
    chosen = cluster.start("planner", env={"BDG_NICE": "3", "BDG_EVENT_LOOP": "asyncio"})
    c = client
    job = await c.commands.create(c.caller, cmd.RequestJob(goal="niced"))
    await wait_for_state(c.store, job.job_id, JobState.awaiting_plan_approval)
    await c.commands.approve_plan(c.caller, job.job_id)
    await wait_for_state(c.store, job.job_id, JobState.awaiting_deploy_approval)

    defaults = {p.role: psutil.Process(p.pid).nice() for p in cluster.processes if p is not chosen}
    assert defaults == {"planner": 10, "coder": 10, "tester": 10, "deployer": 10}
    assert psutil.Process(chosen.pid).nice() == 3
    first = cluster.processes[0]
    await eventually(lambda: said(first, "nice 10, event loop uvloop"), 10, "uvloop logged")
    await eventually(lambda: said(chosen, "nice 3, event loop asyncio"), 10, "choice logged")
