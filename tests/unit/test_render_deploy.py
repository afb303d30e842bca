"""What the CLI shows of a delivered branch and of recorded settings (`bdg job show`, events)."""

from __future__ import annotations

import io
from uuid import uuid4

import pytest
from rich.console import Console

from bdg_cli.render import job_table, summary
from bdg_contracts import events as ev
from bdg_contracts.states import JobState
from bdg_jobs.domain import Job
from tests.unit.jobs import CAUSE, job_in

pytestmark = pytest.mark.timeout(10)

BRANCH = ev.DeliveredBranch(repository="/src/my-app", branch="bdg/1a2b3c4d", commit="f" * 40)


def shown(job: Job) -> str:
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(job_table(job))
    return out.getvalue()


def test_job_show_names_the_delivered_branch() -> None:
    job = job_in(JobState.deploying)
    assert "bdg/1a2b3c4d" not in shown(job)
    job.deploy(CAUSE, "file:///src/my-app#bdg/1a2b3c4d", branch=BRANCH)
    deployed = job.collect()[-1]
    assert isinstance(deployed, ev.Deployed)
    assert job.delivered_branch == BRANCH
    assert job.state == JobState.done
    text = shown(job)
    assert f"bdg/1a2b3c4d at {'f' * 40} in /src/my-app" in text
    assert summary(deployed) == f"delivered as branch bdg/1a2b3c4d at {'f' * 12}"


def test_a_pull_request_is_shown_with_its_branch() -> None:
    pr = "https://github.com/acme/app/pull/7"
    job = job_in(JobState.deploying)
    job.deploy(CAUSE, pr, branch=BRANCH.model_copy(update={"pull_request": pr}))
    deployed = job.collect()[-1]
    assert isinstance(deployed, ev.Deployed)
    assert deployed.branch_only
    assert f"in /src/my-app, pull request {pr}" in shown(job)
    assert summary(deployed) == f"delivered as branch bdg/1a2b3c4d at {'f' * 12}, pull request {pr}"


def test_a_published_site_is_shown_as_deployed() -> None:
    job = job_in(JobState.deploying)
    job.deploy(CAUSE, "http://shop.localhost:8790/", branch=BRANCH)
    deployed = job.collect()[-1]
    assert isinstance(deployed, ev.Deployed)
    assert not deployed.branch_only
    assert summary(deployed).startswith("http://shop.localhost:8790/: branch bdg/1a2b3c4d")


def test_recorded_settings_are_summarised() -> None:
    event = ev.SettingsRecorded(
        job_id=uuid4(), version=3, correlation_id="c", tenant_id="t", producer="coder",
        occurred_at=CAUSE.occurred_at, service="coder", settings={"max_steps": "6"},
    )  # fmt: skip
    assert summary(event) == "coder: max_steps=6"
