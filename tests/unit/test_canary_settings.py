"""The canary's stages and threshold from the operator's settings: parsed, defaulted, and
refused at start with a message naming the bad value (``canary_settings.py``)."""

from __future__ import annotations

import pytest

from bdg_contracts.release_events import CanaryStage
from bdg_deployer.canary_policy import DEFAULT_STAGES, DEFAULT_THRESHOLD
from bdg_deployer.canary_settings import CanarySettingsError, canary_settings

pytestmark = pytest.mark.timeout(10)


def test_unset_is_the_default_rollout() -> None:
    assert canary_settings({}) == (DEFAULT_STAGES, DEFAULT_THRESHOLD)
    blank = {"BDG_CANARY_STAGES": " ", "BDG_CANARY_THRESHOLD": ""}
    assert canary_settings(blank) == (DEFAULT_STAGES, DEFAULT_THRESHOLD)


def test_the_operators_stages_and_threshold() -> None:
    env = {"BDG_CANARY_STAGES": "5:30:50, 25:120.5:1000", "BDG_CANARY_THRESHOLD": "0.02"}
    stages, threshold = canary_settings(env)
    assert stages == (
        CanaryStage(percent=5, min_seconds=30, min_requests=50),
        CanaryStage(percent=25, min_seconds=120.5, min_requests=1000),
    )
    assert threshold == 0.02


BAD_STAGES = [
    ("1:60", "stage 1 '1:60': want percent:min_seconds:min_requests"),
    ("1:60:100,10:abc:200", "stage 2 '10:abc:200': min_seconds 'abc' is not a number"),
    ("0:60:100", "stage 1 '0:60:100': percent '0' is not in (0, 100)"),
    ("100:60:100", "percent '100' is not in (0, 100)"),
    ("nan:60:100", "percent 'nan' is not a finite number"),
    ("1:inf:100", "min_seconds 'inf' is not a finite number"),
    ("1:-5:100", "min_seconds '-5' is not in 0..604800"),
    ("1:60:1.5", "min_requests '1.5' is not an integer"),
    ("1:60:-1", "min_requests '-1' is not an integer"),
    ("10:60:100,5:60:100", "stage 2 '5:60:100': percent 5 is not above the stage before (10)"),
    ("10:60:100,10:60:100", "percent 10 is not above the stage before (10)"),
    (",".join(f"{p}:0:0" for p in range(1, 12)), "1 to 10 stages"),
    ("1:60:100,", "stage 2 '': want percent:min_seconds:min_requests"),
]


@pytest.mark.parametrize(("raw", "said"), BAD_STAGES)
def test_bad_stages_are_refused_naming_the_value(raw: str, said: str) -> None:
    with pytest.raises(CanarySettingsError) as refused:
        canary_settings({"BDG_CANARY_STAGES": raw})
    assert "BDG_CANARY_STAGES" in str(refused.value)
    assert said in str(refused.value)


@pytest.mark.parametrize("raw", ["0", "0.25", "1", "-0.01", "nan", "inf", "1%", "one"])
def test_a_bad_threshold_is_refused_naming_the_value(raw: str) -> None:
    with pytest.raises(CanarySettingsError, match=f"BDG_CANARY_THRESHOLD='{raw}'"):
        canary_settings({"BDG_CANARY_THRESHOLD": raw})
