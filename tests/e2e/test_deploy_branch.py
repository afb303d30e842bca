"""`bdg up`'s deploy with no recorded answers: the service processes on real PostgreSQL and NATS
take a job to ``done``, its change delivered as a branch of the user's own git repository.

Planning, coding and testing answer from the reference script (their real adapters are tested
elsewhere); the deployer runs as under ``bdg up``, with no BDG_ANSWERS_FILE.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bdg_contracts import commands as cmd
from bdg_contracts import events as ev
from bdg_contracts.states import JobState
from bdg_jobs.domain import Job
from bdg_runtime.job_replay import replay_job
from tests.e2e.conftest import Client_
from tests.e2e.harness import ROOT, Cluster, wait_for_state
from tests.git_repos import git, make_repo

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]

REFERENCE = ROOT / "examples" / "reference-job.json"
GOAL = "Create a React PWA that stores notes in IndexedDB and works offline"


async def test_an_approved_job_is_delivered_as_a_branch_and_done(
    cluster: Cluster, client: Client_, tmp_path: Path
) -> None:
    repo = tmp_path / "my-app"
    base = make_repo(repo, {"README.md": "# my app\n"})
    for role in ("planner", "coder", "tester"):
        cluster.start(role, module=f"bdg_{role}.main", env={"BDG_ANSWERS_FILE": str(REFERENCE)})
    # The job's change is a site (a package.json build script); this cluster runs no sandboxd
    # and no edge, so the deployer delivers the branch only (tests/integration/test_site_deploy.py
    # has the sites).
    branch_only = {"BDG_ANSWERS_FILE": "", "BDG_DEPLOY_SITES": "0"}
    cluster.start("deployer", module="bdg_deployer.main", env=branch_only)
    c = client
    request = cmd.RequestJob(goal=GOAL, repo=str(repo), base_ref="main", plan_approval="auto")
    job = await c.commands.create(c.caller, request)

    waiting = await wait_for_state(c.store, job.job_id, JobState.awaiting_deploy_approval, 90)
    asked = next(e for e in waiting if isinstance(e, ev.DeployAwaitingApproval))
    branch = f"bdg/{job.job_id.hex[:8]}"
    assert asked.target == f"branch {branch} in {repo}"
    await c.commands.approve_deploy(c.caller, job.job_id)
    history = await wait_for_state(c.store, job.job_id, JobState.done, 60)

    deployed = next(e for e in history if isinstance(e, ev.Deployed))
    assert deployed.branch is not None
    assert deployed.branch == ev.DeliveredBranch(
        repository=str(repo), branch=branch, commit=git(repo, "rev-parse", branch)
    )
    assert Job.replay(history).delivered_branch == deployed.branch
    assert git(repo, "rev-parse", f"{branch}^") == base  # the base the job started from
    created = set(git(repo, "ls-tree", "-r", "--name-only", branch).splitlines())
    assert {"README.md", "package.json", "src/db.ts", "src/App.tsx", "src/test/setup.ts"} <= created
    assert '"@testing-library/jest-dom"' in git(repo, "show", f"{branch}:package.json")
    assert git(repo, "show", f"{branch}:README.md") == "# my app"
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"  # the checkout is untouched
    assert git(repo, "rev-parse", "main") == base
    assert git(repo, "status", "--porcelain") == ""

    # `bdg job replay`: the deploy is answered from the log, no branch written again.
    from bdg_deployer.main import replay_reactions

    report = await replay_job(history, {"deployer": replay_reactions})
    assert report.same, report.divergence
    assert report.by_service == {"deployer": 2}
