"""The approval digest, pure: what it covers, and the job's rule for approving by digest."""

from __future__ import annotations

import pytest

from bdg_contracts import events as ev
from bdg_deployer.domain import ChangeSet, approval_digest
from bdg_jobs.domain import Job
from bdg_jobs.errors import DigestMismatchError
from tests.unit.jobs import CAUSE, RESULTS, new_job

CHANGE = ChangeSet("/srv/app", "main", "a" * 40, ("--- a/x\n+++ b/x\n",), ("x",))
ARTIFACT = "b" * 64


def test_the_digest_covers_base_patches_and_artifact() -> None:
    digest = approval_digest(CHANGE, ARTIFACT)
    assert digest.startswith("sha256:")
    assert len(digest) == 71
    assert approval_digest(CHANGE, ARTIFACT) == digest  # the deployer computes it again
    others = [
        ChangeSet(CHANGE.repo, CHANGE.base_ref, "c" * 40, CHANGE.patches),
        ChangeSet(CHANGE.repo, CHANGE.base_ref, CHANGE.base_commit, (*CHANGE.patches, "more")),
        ChangeSet("/srv/other", CHANGE.base_ref, CHANGE.base_commit, CHANGE.patches),
    ]
    assert all(approval_digest(c, ARTIFACT) != digest for c in others)
    assert approval_digest(CHANGE, "d" * 64) != digest
    assert approval_digest(CHANGE, None) != digest


def awaiting(digest: str) -> Job:
    job = new_job()
    job.make_plan_ready(CAUSE, "- [ ] step")
    job.approve_plan(CAUSE, "alice")
    job.finish_coding(CAUSE)
    job.pass_tests(CAUSE, RESULTS)
    job.complete_review(CAUSE, approved=True, score=9, notes="ok")
    job.await_deploy_approval(CAUSE, "site", "preview", digest)
    job.collect()
    return job


@pytest.mark.parametrize("given", [approval_digest(CHANGE, ARTIFACT), None])
def test_the_digest_asked_for_or_none_approves_it(given: str | None) -> None:
    shown = approval_digest(CHANGE, ARTIFACT)
    job = awaiting(shown)
    assert job.deploy_digest == shown
    job.approve_deploy(CAUSE, "alice", given)
    [approved] = job.collect()
    assert isinstance(approved, ev.DeployApproved)
    assert approved.digest == shown


@pytest.mark.parametrize("asked", [approval_digest(CHANGE, ARTIFACT), ""])
def test_another_digest_is_refused_naming_both_and_appends_nothing(asked: str) -> None:
    job = awaiting(asked)
    other = approval_digest(CHANGE, None)
    with pytest.raises(DigestMismatchError) as refused:
        job.approve_deploy(CAUSE, "alice", other)
    assert other in str(refused.value)
    assert (asked or "(none)") in str(refused.value)
    assert job.collect() == []
