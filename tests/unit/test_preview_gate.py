"""The preview gate in the job: the deployer's Lighthouse scores are recorded before the deploy
is offered; a category below the bar ends the job with the scores named, and no approval can
be asked for after it; a replay gets the recorded scores back."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bdg_contracts import events as ev
from bdg_contracts.states import JobState, Step
from bdg_deployer.domain import DeployTask, Measured
from bdg_deployer.recorded import RecordedDeploys
from bdg_jobs.domain import Cause, Job
from bdg_jobs.errors import IllegalTransitionError
from tests.unit.jobs import CAUSE, job_in

URL = "http://r-1.production-0a1b2c3d.localhost:8790/"
GOOD = {"performance": 95, "accessibility": 100, "best-practices": 100, "seo": 100}
HEAVY = {"performance": 41, "accessibility": 100, "best-practices": 96, "seo": 82}


def reviewed() -> Job:
    job = job_in(JobState.reviewing)
    job.complete_review(CAUSE, approved=True, score=9, notes="ok")
    job.collect()
    return job


def test_scores_at_the_bar_are_recorded_and_the_deploy_is_offered() -> None:
    job = reviewed()
    assert job.measure_preview(CAUSE, "r-1", URL, {**GOOD, "performance": 90}, 90)
    job.await_deploy_approval(CAUSE, "production", URL)
    measured, asked = job.collect()
    assert isinstance(measured, ev.PreviewMeasured)
    assert measured.scores["performance"] == 90
    assert measured.bar == 90
    assert isinstance(asked, ev.DeployAwaitingApproval)
    assert job.state == JobState.awaiting_deploy_approval


def test_a_score_below_the_bar_fails_the_job_with_the_scores() -> None:
    job = reviewed()
    assert not job.measure_preview(CAUSE, "r-1", URL, HEAVY, 90)
    measured, failed = job.collect()
    assert isinstance(measured, ev.PreviewMeasured)
    assert measured.below_bar() == {"performance": 41, "seo": 82}
    assert isinstance(failed, ev.StepFailed)
    assert failed.step == Step.reviewing
    assert failed.failed_event_version == measured.version
    for named in ("performance 41", "seo 82", ">= 90", "best-practices 96", URL):
        assert named in failed.reason
    assert job.state == JobState.failed
    with pytest.raises(IllegalTransitionError):
        job.await_deploy_approval(CAUSE, "production", URL)
    assert job.collect() == []


def test_a_lower_bar_set_by_the_operator_passes_the_same_scores() -> None:
    job = reviewed()
    assert job.measure_preview(CAUSE, "r-1", URL, HEAVY, 40)
    assert job.state == JobState.reviewing


def test_no_measurement_before_an_approving_review() -> None:
    job = job_in(JobState.reviewing)
    with pytest.raises(IllegalTransitionError):
        job.measure_preview(CAUSE, "r-1", URL, GOOD, 90)
    assert job.collect() == []
    assert job.state == JobState.reviewing


@pytest.mark.parametrize("bar", [-1, 101])
def test_a_bar_outside_0_to_100_is_refused_and_nothing_is_recorded(bar: int) -> None:
    job = reviewed()
    with pytest.raises(ValidationError):
        job.measure_preview(CAUSE, "r-1", URL, GOOD, bar)
    assert job.collect() == []
    assert job.state == JobState.reviewing


def deployer_cause() -> Cause:
    return Cause(producer="deployer", occurred_at=CAUSE.occurred_at)


async def test_a_replay_answers_the_gate_as_the_history_recorded_it() -> None:
    """``bdg job replay``: the deployer's recorded scores come back, so the replayed reaction
    appends what the job did (a failed gate: no approval request to find)."""
    job = job_in(JobState.reviewing)
    job.complete_review(CAUSE, approved=True, score=9, notes="ok")
    job.measure_preview(deployer_cause(), "r-1", URL, HEAVY, 90)
    replayed = RecordedDeploys(job.collect())
    release = await replayed.prepare(DeployTask(job.job_id, job.tenant_id, "g"))
    assert release.measured == Measured("r-1", URL, HEAVY, 90)

    passing = job_in(JobState.reviewing)
    passing.complete_review(CAUSE, approved=True, score=9, notes="ok")
    passing.measure_preview(deployer_cause(), "r-2", URL, GOOD, 90)
    passing.await_deploy_approval(deployer_cause(), "production", "shown", "")
    release = await RecordedDeploys(passing.collect()).prepare(
        DeployTask(passing.job_id, passing.tenant_id, "g")
    )
    assert release.measured == Measured("r-2", URL, GOOD, 90)
    assert (release.target, release.preview) == ("production", "shown")
