"""Plan versions and diffs from a job's history."""

from __future__ import annotations

import pytest

from bdg_jobs.plans import PlanVersionError, plan_diff, plan_versions
from tests.unit.jobs import CAUSE, new_job


def test_versions_come_from_ready_and_edited_plans_in_order() -> None:
    job = new_job()
    job.draft_plan(CAUSE, "draft, not a version", 1)
    job.make_plan_ready(CAUSE, "a\nb\n")
    job.edit_plan(CAUSE, "a\nc\n")
    history = job.collect()
    versions = plan_versions(history)
    assert [(v.number, v.markdown) for v in versions] == [(1, "a\nb\n"), (2, "a\nc\n")]
    diff = plan_diff(history, 1, 2)
    assert "-b\n" in diff
    assert "+c\n" in diff
    assert plan_diff(history, 2, 2) == ""
    with pytest.raises(PlanVersionError, match="no plan version 3"):
        plan_diff(history, 1, 3)
