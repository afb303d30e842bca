"""One judgement of a running canary: what it appends, and nothing when decided meanwhile."""

from __future__ import annotations

import copy
from datetime import timedelta

from bdg_contracts import release_events as rv
from bdg_contracts.base import Event
from bdg_deployer.canary_policy import CanaryPolicy, Window
from bdg_deployer.canary_step import decide_step
from bdg_jobs.sites import Site
from tests.unit.test_site_aggregate import CAUSE, T0, counts, released

STAGES = (
    rv.CanaryStage(percent=1, min_seconds=0, min_requests=100),
    rv.CanaryStage(percent=10, min_seconds=0, min_requests=100),
)
POLICY = CanaryPolicy()


def in_canary() -> Site:
    site = released("r-a", "r-b")
    site.promote(CAUSE, "r-a", rv.ManualReason(by="ana"))
    site.start_canary(CAUSE, "r-b", STAGES, POLICY.threshold)
    return site


def step(site: Site, judged: Site, canary: int, errors: int) -> type[Event] | None:
    assert judged.canary is not None
    now, stable = T0 + timedelta(hours=1), counts("r-a", 10_000)
    window = Window.between(counts("r-b", canary, errors), judged.canary.canary_at, stable, None)
    verdict = POLICY.judge(window)
    pair = (counts("r-b", canary, errors), stable)
    return decide_step(site, judged.canary, verdict, POLICY, now, pair, CAUSE)


def test_errors_roll_back_and_health_advances_then_promotes() -> None:
    bad = in_canary()
    assert step(bad, copy.deepcopy(bad), 1_000, 50) is rv.ReleaseRolledBack
    assert (bad.stable, bad.canary) == ("r-a", None)

    good = in_canary()
    assert step(good, copy.deepcopy(good), 2_000, 0) is rv.CanaryAdvanced
    assert step(good, copy.deepcopy(good), 4_000, 0) is rv.ReleasePromoted
    assert good.stable == "r-b"


def test_too_few_requests_is_an_observation() -> None:
    site = in_canary()
    assert step(site, copy.deepcopy(site), 10, 0) is rv.CanaryObserved
    assert site.canary is not None


def test_a_canary_decided_meanwhile_gets_nothing_more() -> None:
    site = in_canary()
    judged = copy.deepcopy(site)  # what this deployer loaded and judged
    site.roll_back(CAUSE, "r-b", rv.ManualReason(by="bob"))  # another decided first
    version = site.version
    assert step(site, judged, 4_000, 0) is None
    assert site.version == version
