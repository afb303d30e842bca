"""What the CLI shows of a test-driven selection (`bdg job events`)."""

from __future__ import annotations

import pytest

from bdg_cli.render import summary
from bdg_contracts import events as ev
from bdg_contracts.states import JobState
from tests.unit.jobs import CAUSE, job_in

pytestmark = pytest.mark.timeout(10)


def test_the_choice_and_every_candidates_tests_are_shown() -> None:
    job = job_in(JobState.coding)
    job.compare_candidates(
        CAUSE,
        2,
        (
            ev.CandidateOutcome(index=1, note="changed nothing", failed=1),
            ev.CandidateOutcome(index=2, paths=("calc.py",), passed=3, tests_passed=True),
        ),
    )
    compared = job.collect()[-1]
    assert isinstance(compared, ev.CandidatesCompared)
    assert summary(compared) == (
        f"attempt {job.attempt}: kept candidate 2 of 2 "
        "(1: 0 passed, 1 failed (changed nothing); 2: 3 passed, 0 failed)"
    )
    assert job.state == JobState.coding  # a record of the attempt, not a step


def test_a_selection_needs_two_candidates() -> None:
    job = job_in(JobState.coding)
    with pytest.raises(ValueError, match="candidates"):
        job.compare_candidates(CAUSE, 1, (ev.CandidateOutcome(index=1),))
