"""The agent bench stands in for the person: a plan that waits for approval (one below the
tenant's bar is never auto-approved) is approved by the bench, once, and the job goes on. With
no model to answer, it says so and runs nothing."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from bdg_cli.context import Connected, caller
from bdg_contracts import commands as cmd
from bdg_contracts.states import JobState
from bdg_runtime.settings import Settings
from bench.agent_bench import approve_waiting_plan, follow
from tests.e2e.conftest import Client_
from tests.e2e.harness import Cluster, wait_for_state


@pytest.mark.timeout(60)  # without the approval, the follow never ends
async def test_the_bench_approves_a_waiting_plan_and_follows_to_the_end(
    cluster: Cluster, client: Client_
) -> None:
    cluster.start_all()
    c = client
    conn = Connected(
        Settings(), cluster.database_url, cluster.nats_url, None, c.store, c.nc, c.js, c.app,
        c.redrive, c.commands,
    )  # fmt: skip
    job = await c.commands.create(caller(), cmd.RequestJob(goal="bench me"))  # the bench's
    out = io.StringIO()
    final = await follow(conn, job.job_id, Console(file=out, width=200), "t")

    assert final.state is JobState.awaiting_deploy_approval
    history = await c.app.history(job.job_id)
    assert [e.name for e in history].count("PlanApproved") == 1
    assert out.getvalue().count("the bench approves it") == 1


@pytest.mark.timeout(150)  # a loaded machine plans slowly; the wait below polls to a deadline
async def test_a_plan_approved_meanwhile_is_no_error(cluster: Cluster, client: Client_) -> None:
    # The follower sees the waiting state one event late: under the auto policy the plan is
    # often approved by the time the bench approves it, which once ended the follow.
    cluster.start_all()
    c = client
    conn = Connected(
        Settings(), cluster.database_url, cluster.nats_url, None, c.store, c.nc, c.js, c.app,
        c.redrive, c.commands,
    )  # fmt: skip
    job = await c.commands.create(caller(), cmd.RequestJob(goal="bench me"))
    await wait_for_state(c.store, job.job_id, JobState.awaiting_plan_approval, timeout=120)
    await c.commands.approve_plan(caller(), job.job_id)  # someone was first

    assert await approve_waiting_plan(conn, caller(), job.job_id) is False
    history = await c.app.history(job.job_id)
    assert [e.name for e in history].count("PlanApproved") == 1


@pytest.mark.timeout(180)  # it starts the stack (embedded, or the configured one) first
def test_with_no_model_the_bench_says_so_and_runs_nothing(tmp_path: Path) -> None:
    # A bench whose model had been uninstalled (a `uv sync` removes the model's wheels) ran all
    # 13 tasks, each failing at its first model call after five retries, for ten minutes.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "BDG_LLM_RECORD", "BDG_LOCAL_MODEL"))
    }
    env["BDG_LOCAL_MODEL"] = str(tmp_path / "missing.gguf")  # an own file that is not there
    results = tmp_path / "results.json"
    argv = ["--tasks", "js-clamp-fix", "--home", str(tmp_path / "home"), "--json", str(results)]
    run = subprocess.run(
        [sys.executable, "-m", "bench.agent_bench", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert "no model answers" in run.stdout
    assert "task(s); model" not in run.stdout
    assert not results.exists()
