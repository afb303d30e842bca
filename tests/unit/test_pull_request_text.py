"""What a job's pull request says: the commit's subject as title, the plan as last edited, the
coder's summary and the files as description; long plans cut under GitHub's body limit."""

from __future__ import annotations

from uuid import uuid4

import pytest

from bdg_contracts.states import JobState
from bdg_deployer.domain import PR_BODY_MAX, ChangeSet, DeployTask, change_of, pull_request_text
from tests.unit.jobs import CAUSE, job_in

pytestmark = pytest.mark.timeout(10)


def test_the_plan_as_last_edited_is_the_description() -> None:
    job = job_in(JobState.awaiting_plan_approval)
    job.edit_plan(CAUSE, "## Plan\n- [ ] the edited step")
    change = change_of(job.collect())
    assert change.plan == "## Plan\n- [ ] the edited step"
    task = DeployTask(uuid4(), "t", "Add notes\nsecond line", change=change)
    title, body = pull_request_text(task)
    assert title == "Add notes"
    assert body.startswith("## Plan\n- [ ] the edited step\n\nFiles: no files")
    assert body.endswith(f"Opened by BigDaddyG Agent for job `{task.job_id}`.")


def test_a_huge_plan_is_cut_under_the_hosts_limit() -> None:
    change = ChangeSet(plan="x" * 100_000, summary="s", paths=("a.py",))
    task = DeployTask(uuid4(), "t", "g", change=change)
    _, body = pull_request_text(task)
    assert len(body) <= PR_BODY_MAX
    assert str(task.job_id) in body
