"""The canary's sequential test: rolls back a 2% canary, keeps a 0.5% one, waits when unsure."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bdg_contracts.release_events import CanaryStage, ReleaseCounts
from bdg_deployer.canary_policy import CanaryPolicy, Window

pytestmark = pytest.mark.timeout(30)
POLICY = CanaryPolicy()


def run_until_decided(rate: float, seed: int, most: int = 20_000) -> tuple[str, int]:
    """Feed requests erring at ``rate`` one by one (the stable clean over 100x as many) until
    the test decides; what it decided and after how many requests."""
    rng = random.Random(seed)
    errors = 0
    for n in range(1, most + 1):
        errors += rng.random() < rate
        verdict = POLICY.judge(Window(n, errors, 100 * n, 0))
        if verdict.roll_back:
            return "rollback", n
        if verdict.healthy:
            return "healthy", n
    return "undecided", most


@pytest.mark.parametrize("seed", range(20))
def test_two_percent_errors_are_rolled_back(seed: int) -> None:
    decided, n = run_until_decided(0.02, seed)
    assert decided == "rollback"
    assert n < 3_000


def test_half_a_percent_is_kept_almost_always() -> None:
    # alpha = 5% at p0 = 0.5%: a few wrong rollbacks in 200 runs, never a majority.
    decided = [run_until_decided(0.005, seed)[0] for seed in range(200)]
    assert decided.count("healthy") >= 180
    assert "undecided" not in decided


def test_a_few_requests_decide_nothing() -> None:
    for errors in (0, 1):
        verdict = POLICY.judge(Window(3, errors, 300, 0))
        assert not verdict.roll_back
        assert not verdict.healthy


def test_the_stable_rate_moves_the_bar() -> None:
    # 3% errors is too many against a clean stable, but not against a stable at 2.8%.
    clean = POLICY.judge(Window(2_000, 60, 200_000, 0))
    noisy = POLICY.judge(Window(2_000, 60, 200_000, 5_600))
    assert clean.roll_back
    assert not noisy.roll_back
    assert noisy.figures.p0 == pytest.approx(0.028 + 0.005)


def test_figures_are_what_was_judged() -> None:
    figures = POLICY.judge(Window(400, 9, 40_000, 4)).figures
    assert (figures.canary_requests, figures.canary_errors) == (400, 9)
    assert (figures.stable_requests, figures.stable_errors) == (40_000, 4)
    assert figures.upper == pytest.approx(2.944439)
    assert figures.lower == pytest.approx(-2.944439)


def test_a_stage_ends_only_healthy_held_and_with_enough_requests() -> None:
    stage = CanaryStage(percent=1, min_seconds=60, min_requests=500)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    healthy_few = POLICY.judge(Window(400, 0, 40_000, 0))
    healthy_many = POLICY.judge(Window(600, 0, 60_000, 0))
    assert healthy_few.healthy
    assert healthy_many.healthy
    assert not POLICY.stage_done(healthy_few, stage, t0, t0 + timedelta(seconds=61))
    assert not POLICY.stage_done(healthy_many, stage, t0, t0 + timedelta(seconds=59))
    assert POLICY.stage_done(healthy_many, stage, t0, t0 + timedelta(seconds=61))


def test_a_window_is_counts_since_the_stage_began() -> None:
    then = ReleaseCounts(release="r1", requests=100, errors=1)
    now = ReleaseCounts(release="r1", requests=350, errors=4)
    stable_then = ReleaseCounts(release="r0", requests=1_000, errors=2)
    stable_now = ReleaseCounts(release="r0", requests=9_000, errors=10)
    assert Window.between(now, then, stable_now, stable_then) == Window(250, 3, 8_000, 8)
    assert Window.between(now, then, None, None) == Window(250, 3, 0, 0)


def test_a_threshold_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="threshold"):
        CanaryPolicy(threshold=0.5)


def test_an_edge_restart_starts_the_window_over() -> None:
    then = ReleaseCounts(release="r1", requests=400, errors=2)
    after_restart = ReleaseCounts(release="r1", requests=30, errors=1)
    stable_then = ReleaseCounts(release="r0", requests=40_000, errors=5)
    stable_after = ReleaseCounts(release="r0", requests=3_000, errors=0)
    window = Window.between(after_restart, then, stable_after, stable_then)
    assert window == Window(30, 1, 3_000, 0)
