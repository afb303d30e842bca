"""Promote or roll back a canary: Wald's sequential probability ratio test on its errors.

A bare ratio over three requests rolls back on one unlucky 5xx and promotes on silence. The
test weighs each request instead: H0 "the canary errs at the stable's rate plus half the
threshold" against H1 "plus twice the threshold", so the point where it cannot tell is about the
stable's rate plus the threshold (1% by default). With alpha = beta = 5% the log-likelihood
ratio crosses ``ln 19`` (roll back) or ``-ln 19`` (healthy): at 2% errors against a clean stable
that takes about 230 requests, at 0.5% about 360. Each stage is its own test over its own window
(the counts since the stage began), so an error spike late in a rollout is not buried under the
good requests of the stages before. Pure: the counts come in, a verdict with its figures goes out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from bdg_contracts.release_events import CanaryStage, DecisionFigures, ReleaseCounts

DEFAULT_THRESHOLD = 0.01
DEFAULT_STAGES = (
    CanaryStage(percent=1, min_seconds=60, min_requests=100),
    CanaryStage(percent=10, min_seconds=60, min_requests=200),
    CanaryStage(percent=50, min_seconds=60, min_requests=400),
)


@dataclass(frozen=True)
class Window:
    """A stage's counts: cumulative now minus cumulative when the stage began."""

    canary_requests: int
    canary_errors: int
    stable_requests: int
    stable_errors: int

    @classmethod
    def between(
        cls,
        canary_now: ReleaseCounts,
        canary_then: ReleaseCounts,
        stable_now: ReleaseCounts | None,
        stable_then: ReleaseCounts | None,
    ) -> Window:
        """Counts since the stage began. The edge counts in memory: fewer requests now than
        then means it restarted, and its counts since the restart are the window."""
        c_req, c_err = _since(canary_now, canary_then)
        s_req, s_err = _since(stable_now, stable_then) if stable_now is not None else (0, 0)
        return cls(c_req, c_err, s_req, s_err)


def _since(now: ReleaseCounts, then: ReleaseCounts | None) -> tuple[int, int]:
    if then is None or now.requests < then.requests:
        return now.requests, now.errors
    return now.requests - then.requests, max(now.errors - then.errors, 0)


@dataclass(frozen=True)
class Verdict:
    figures: DecisionFigures

    @property
    def roll_back(self) -> bool:
        return self.figures.llr >= self.figures.upper

    @property
    def healthy(self) -> bool:
        return self.figures.llr <= self.figures.lower


@dataclass(frozen=True)
class CanaryPolicy:
    threshold: float = DEFAULT_THRESHOLD
    alpha: float = 0.05  # rolling back a healthy canary
    beta: float = 0.05  # keeping a bad one

    def __post_init__(self) -> None:
        if not 0 < self.threshold < 0.25:
            raise ValueError(f"threshold must be in (0, 0.25), got {self.threshold}")

    def judge(self, window: Window) -> Verdict:
        base = window.stable_errors / window.stable_requests if window.stable_requests else 0.0
        p0 = min(base + self.threshold / 2, 0.98)
        p1 = min(base + 2 * self.threshold, 0.99)
        n, k = window.canary_requests, min(window.canary_errors, window.canary_requests)
        llr = k * math.log(p1 / p0) + (n - k) * math.log((1 - p1) / (1 - p0))
        figures = DecisionFigures(
            canary_requests=n,
            canary_errors=k,
            stable_requests=window.stable_requests,
            stable_errors=window.stable_errors,
            threshold=self.threshold,
            p0=p0,
            p1=p1,
            llr=round(llr, 6),
            upper=round(math.log((1 - self.beta) / self.alpha), 6),
            lower=round(math.log(self.beta / (1 - self.alpha)), 6),
        )
        return Verdict(figures)

    def stage_done(
        self, verdict: Verdict, stage: CanaryStage, started: datetime, now: datetime
    ) -> bool:
        """The stage may end: proven healthy, held long enough, with enough requests."""
        held = (now - started).total_seconds() >= stage.min_seconds
        enough = verdict.figures.canary_requests >= stage.min_requests
        return verdict.healthy and held and enough
