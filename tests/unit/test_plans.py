"""Plan versions and diffs from a job's history."""

from __future__ import annotations

import pytest

from bdg_jobs.plans import PlanVersionError, plan_diff, plan_versions
from tests.unit.jobs import CAUSE, new_job


def test_versions_are_the_drafts_the_ready_plan_and_edits_in_order() -> None:
    job = new_job()
    job.draft_plan(CAUSE, "a\n", 1)
    job.critique_plan(CAUSE, 1, 5)
    job.draft_plan(CAUSE, "a\nb\n", 2)
    job.make_plan_ready(CAUSE, "a\nb\n")
    job.edit_plan(CAUSE, "a\nc\n")
    history = job.collect()
    versions = plan_versions(history)
    assert [(v.number, v.kind, v.markdown) for v in versions] == [
        (1, "draft", "a\n"),
        (2, "draft", "a\nb\n"),
        (3, "ready", "a\nb\n"),
        (4, "edit", "a\nc\n"),
    ]
    across_drafts = plan_diff(history, 1, 2)
    assert "+b\n" in across_drafts
    assert "plan v1 (draft, test)" in across_drafts
    diff = plan_diff(history, 3, 4)
    assert "-b\n" in diff
    assert "+c\n" in diff
    assert plan_diff(history, 2, 3) == ""
    with pytest.raises(PlanVersionError, match="no plan version 5 \\(the job has 4\\)"):
        plan_diff(history, 1, 5)
