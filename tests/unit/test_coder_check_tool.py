"""The coder's own test runs (check_tool.py): a later run's time limit, and what a call may ask."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bdg_coder.check_tool import (
    MAX_CHECK_S,
    MIN_RECHECK_S,
    RECHECK_FACTOR,
    CheckTests,
    recheck_timeout,
)

pytestmark = pytest.mark.timeout(10)


def test_a_later_run_gets_a_few_times_the_first_one_s_seconds_within_bounds() -> None:
    assert recheck_timeout(4.0) == RECHECK_FACTOR * 4.0
    assert recheck_timeout(0.3) == MIN_RECHECK_S  # a runner's start, whatever the tests took
    assert recheck_timeout(0.0) == MIN_RECHECK_S  # no run measured: the floor
    assert recheck_timeout(250.0) == MAX_CHECK_S  # never past the sandbox's own limit


@pytest.mark.parametrize(
    "asked",
    [
        {"argv": [], "timeout_s": 10},
        {"argv": ["npm", "test"], "timeout_s": 0},
        {"argv": ["npm", "test"], "timeout_s": MAX_CHECK_S + 1},
        {"argv": ["npm", "test"], "timeout_s": float("nan")},
        {"argv": ["npm", "test"], "timeout_s": float("inf")},
        {"argv": ["x"] * 65, "timeout_s": 10},
        {"argv": ["npm", "test"], "timeout_s": 10, "network": True},
    ],
)
def test_a_call_past_the_bounds_is_refused(asked: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        CheckTests.model_validate(asked)
