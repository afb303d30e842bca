"""The site aggregate: builds, releases, canaries, promote and rollback without rebuilding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from bdg_contracts import release_events as rv
from bdg_jobs.domain import Cause
from bdg_jobs.sites import Site, SiteStateError

pytestmark = pytest.mark.timeout(30)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
CAUSE = Cause("deployer", T0, "evt-1")
D1, D2 = "1" * 64, "2" * 64
STAGES = (rv.CanaryStage(percent=1), rv.CanaryStage(percent=10))
FIGURES = rv.DecisionFigures(
    canary_requests=300, canary_errors=9, stable_requests=30_000, stable_errors=3,
    threshold=0.01, p0=0.0051, p1=0.0201, llr=3.1, upper=2.94, lower=-2.94,
)  # fmt: skip


def counts(release: str, requests: int, errors: int = 0) -> rv.ReleaseCounts:
    return rv.ReleaseCounts(release=release, requests=requests, errors=errors)


def released(*names: str) -> Site:
    site = Site.create("acme", CAUSE, "https://Git.example/acme/web.git", "production")
    for i, name in enumerate(names):
        build = f"b{i}"
        site.start_build(CAUSE, build, "static:dist", uuid4())
        site.finish_build(CAUSE, build, D1 if i % 2 == 0 else D2, files=3, size=1200)
        site.create_release(CAUSE, name, build, "local", name, f"http://{name}.localhost/")
    return site


def test_one_site_per_tenant_repository_and_target() -> None:
    site = released()
    assert site.site_id == rv.site_id("acme", "https://git.example/acme/web", "production")
    assert site.site_id != rv.site_id("acme", "https://git.example/acme/web", "staging")
    assert site.site_id != rv.site_id("other", "https://git.example/acme/web", "production")


def test_a_release_names_its_builds_digest() -> None:
    site = released("r1")
    assert site.releases["r1"].digest == D1
    site.start_build(CAUSE, "b9", "npm run build", None)
    with pytest.raises(SiteStateError, match="no artifact"):
        site.create_release(CAUSE, "r9", "b9", "local", "r9", "")


def test_a_failed_build_cannot_be_released() -> None:
    site = released()
    site.start_build(CAUSE, "b1", "npm run build", None)
    site.fail_build(CAUSE, "b1", "vite: not found")
    assert site.builds["b1"].failed == "vite: not found"
    with pytest.raises(SiteStateError):
        site.create_release(CAUSE, "r1", "b1", "local", "r1", "")


def test_automatic_rollback_of_a_canary_keeps_the_stable() -> None:
    site = released("r1", "r2")
    site.promote(CAUSE, "r1", rv.ManualReason(by="alice"))
    site.start_canary(CAUSE, "r2", STAGES, 0.01, counts("r1", 500))
    assert site.canary is not None
    assert site.canary.percent == 1
    site.roll_back(CAUSE, "r2", rv.AutomaticReason(figures=FIGURES))
    assert site.canary is None
    assert site.stable == "r1"


def test_stages_advance_then_promote() -> None:
    site = released("r1", "r2")
    site.promote(CAUSE, "r1", rv.ManualReason(by="alice"))
    site.start_canary(CAUSE, "r2", STAGES, 0.01)
    later = Cause("deployer", T0 + timedelta(minutes=2), "evt-2")
    site.advance(later, counts("r2", 400), counts("r1", 40_000))
    assert site.canary is not None
    assert (site.canary.stage, site.canary.percent) == (1, 10)
    assert site.canary.canary_at.requests == 400
    assert site.canary.stage_started == later.occurred_at
    with pytest.raises(SiteStateError, match="last stage"):
        site.advance(later, counts("r2", 900), counts("r1", 90_000))
    site.promote(later, "r2", rv.AutomaticReason(figures=FIGURES))
    assert site.stable == "r2"
    assert site.canary is None


def test_one_canary_at_a_time() -> None:
    site = released("r1", "r2", "r3")
    site.promote(CAUSE, "r1", rv.ManualReason(by="alice"))
    site.start_canary(CAUSE, "r2", STAGES, 0.01)
    with pytest.raises(SiteStateError, match="in canary already"):
        site.start_canary(CAUSE, "r3", STAGES, 0.01)


def test_manual_rollback_of_the_stable_goes_back_to_the_one_before() -> None:
    site = released("r1", "r2", "r3")
    for name in ("r1", "r2", "r3"):
        site.promote(CAUSE, name, rv.ManualReason(by="alice"))
    site.roll_back(CAUSE, "r3", rv.ManualReason(by="bob", note="broken header"))
    assert site.stable == "r2"
    site.roll_back(CAUSE, "r2", rv.ManualReason(by="bob"))
    assert site.stable == "r1"
    with pytest.raises(SiteStateError, match="no release before"):
        site.roll_back(CAUSE, "r1", rv.ManualReason(by="bob"))


def test_a_release_neither_serving_nor_in_canary_cannot_be_rolled_back() -> None:
    site = released("r1", "r2")
    site.promote(CAUSE, "r1", rv.ManualReason(by="alice"))
    with pytest.raises(SiteStateError, match="neither"):
        site.roll_back(CAUSE, "r2", rv.ManualReason(by="bob"))


def test_replay_gives_the_same_state_and_a_resumed_canary() -> None:
    site = released("r1", "r2")
    site.promote(CAUSE, "r1", rv.ManualReason(by="alice"))
    site.start_canary(CAUSE, "r2", STAGES, 0.01, counts("r1", 77))
    site.observe(CAUSE, counts("r2", 10), counts("r1", 1_000), FIGURES)
    site.advance(CAUSE, counts("r2", 400), counts("r1", 40_000))
    events = site.collect()
    again = Site.replay(events)
    assert again.canary == site.canary
    assert again.stable == "r1"
    assert again.version == len(events) == site.version
    assert [e.name for e in events][-4:] == [
        "ReleasePromoted", "CanaryStarted", "CanaryObserved", "CanaryAdvanced",
    ]  # fmt: skip


def test_a_history_starts_with_site_created() -> None:
    events = released("r1").collect()
    with pytest.raises(ValueError, match="starts with SiteCreated"):
        Site.replay(events[1:])
