"""Service processes run background work below the API's CPU priority, on uvloop (see
bdg_runtime/process_priority.py): checked on real service processes doing a real job."""

from __future__ import annotations

import asyncio
import functools
import io
import os
import sys
from pathlib import Path

import psutil
import pytest
from rich.console import Console

from bdg_cli.procs import Supervisor
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
    cluster.extra_env["BDG_NICE"] = ""  # the services' own default, not the harness's 0
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


async def logged(said: io.StringIO, prefix: str, end: str) -> bool:
    return any(s.startswith(prefix) and s.endswith(end) for s in said.getvalue().splitlines())


def session_nice_of(pid: int) -> int | None:
    """The niceness in "/autogroup-9 nice 10"; None for the boot session's root autogroup (the
    file reads empty), where CI may start the suite."""
    said = Path(f"/proc/{pid}/autogroup").read_text().split()
    return int(said[-1]) if said else None


@pytest.mark.timeout(90)
async def test_under_the_supervisor_each_worker_lowers_its_own_sessions_priority(
    cluster: Cluster, client: Client_
) -> None:
    """`bdg up` starts every service in a session of its own, where the kernel shares CPU
    between sessions first (autogroups): the process's niceness alone gave a worker as much CPU
    as the gateway. Each worker lowers its session's, and the jobs still run."""
    roles = ("planner", "coder", "tester", "deployer")
    said, ours = io.StringIO(), session_nice_of(os.getpid())
    supervisor = Supervisor(
        {role: [sys.executable, "-m", "tests.e2e.stepper", role] for role in roles},
        # Without the suite's BDG_NICE=0 (tests/conftest.py): the services' own default.
        {k: v for k, v in cluster.env("planner").items() if k != "BDG_NICE"},
        Console(file=said, width=300),
        service_env={"planner": {"BDG_NICE": "13"}},
    )
    running = asyncio.create_task(supervisor.run())
    try:
        for role in roles:
            nice = 13 if role == "planner" else 10
            line = f"{role}: its session (autogroup) at nice {nice}"
            await eventually(functools.partial(logged, said, f"[{role}]", line), 30, line)
        pids = {role: proc.pid for role, proc in supervisor.procs.items()}
        assert {role: session_nice_of(pid) for role, pid in pids.items()} == {
            "planner": 13,
            "coder": 10,
            "tester": 10,
            "deployer": 10,
        }
        assert session_nice_of(os.getpid()) == ours  # the supervisor's own: untouched
        job = await client.commands.create(client.caller, cmd.RequestJob(goal="in sessions"))
        await wait_for_state(client.store, job.job_id, JobState.awaiting_plan_approval)
        await client.commands.approve_plan(client.caller, job.job_id)
        await wait_for_state(client.store, job.job_id, JobState.awaiting_deploy_approval)
    finally:
        supervisor.request_stop()
        await running
        print(said.getvalue())


def test_the_harness_runs_services_at_the_test_s_priority(cluster: Cluster) -> None:
    assert cluster.env("indexer")["BDG_NICE"] == "0"
