"""`bdg up`'s deploy with no recorded answers: the service processes on real PostgreSQL and NATS
take a job to ``done``, its change delivered as a branch of the user's own git repository.

Planning, coding and testing answer from the reference script (their real adapters are tested
elsewhere); the deployer runs as under ``bdg up``, with no BDG_ANSWERS_FILE.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from bdg_contracts import commands as cmd
from bdg_contracts import events as ev
from bdg_contracts.clone_hosts import CloneHosts
from bdg_contracts.states import JobState
from bdg_jobs.domain import Job
from bdg_jobs.sources import SourceRules
from bdg_jobs.user_commands import JobCommands
from bdg_runtime.job_replay import replay_job
from tests.e2e.conftest import Client_
from tests.e2e.harness import ROOT, Cluster, wait_for_state
from tests.git_host_api import git_host
from tests.git_http import smart_serving
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


async def test_a_job_on_a_configured_host_is_pushed_with_a_pull_request(
    cluster: Cluster, client: Client_, tmp_path: Path
) -> None:
    """The job's repository is a clone URL under a git host configured for its tenant
    (``BDG_GIT_HOSTS``): the deployer process pushes the branch to the real git remote and opens
    the pull request; ``Deployed`` carries its URL and the job says it was delivered as a branch."""
    make_repo(tmp_path / "work", {"README.md": "# my app\n"})
    served = tmp_path / "served"
    (served / "acme").mkdir(parents=True)
    git(tmp_path, "clone", "-q", "--bare", str(tmp_path / "work"), str(served / "acme/app.git"))
    token = "ghp_" + secrets.token_hex(12)
    with (
        smart_serving(served, "x-access-token", token) as remote,
        git_host(token, set(), {"acme/app": "main"}, served) as api,
    ):
        hosts = tmp_path / "hosts.json"
        entry = {"kind": "github", "web_url": remote.url, "api_url": api.github_api, "token": token}
        hosts.write_text(json.dumps({client.caller.tenant_id: [entry]}))
        for role in ("planner", "coder", "tester"):
            cluster.start(role, module=f"bdg_{role}.main", env={"BDG_ANSWERS_FILE": str(REFERENCE)})
        env = {"BDG_ANSWERS_FILE": "", "BDG_DEPLOY_SITES": "0", "BDG_GIT_HOSTS": str(hosts)}
        cluster.start("deployer", module="bdg_deployer.main", env=env)
        c = client
        url = f"{remote.url}/acme/app.git"
        # the operator lets clone URLs reach this loopback git server (BDG_CLONE_ALLOW_HOSTS)
        allowed = SourceRules(clone_hosts=CloneHosts.parse("127.0.0.1"))
        commands = JobCommands(c.app, c.redrive, sources=allowed)
        request = cmd.RequestJob(goal=GOAL, repo=url, base_ref="main", plan_approval="auto")
        job = await commands.create(c.caller, request)
        waiting = await wait_for_state(c.store, job.job_id, JobState.awaiting_deploy_approval, 90)
        asked = next(e for e in waiting if isinstance(e, ev.DeployAwaitingApproval))
        assert asked.target.endswith(f"pushed to {url} with a github pull request")
        await commands.approve_deploy(c.caller, job.job_id)
        history = await wait_for_state(c.store, job.job_id, JobState.done, 60)

    deployed = next(e for e in history if isinstance(e, ev.Deployed))
    branch = f"bdg/{job.job_id.hex[:8]}"
    assert deployed.url == f"{api.url}/acme/app/pull/1"
    assert deployed.branch is not None
    assert deployed.branch.pull_request == deployed.url
    assert deployed.branch_only
    assert git(served / "acme/app.git", "rev-parse", branch) == deployed.branch.commit
    [pull] = api.pulls
    assert (pull.head, pull.base, pull.title) == (branch, "main", GOAL)
    plan = next(e for e in history if isinstance(e, ev.PlanReady)).plan_markdown
    assert pull.body.startswith(plan.strip())
