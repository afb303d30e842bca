"""What one judgement of a running canary appends to its site (pure).

Given the verdict of the stage's window, the site takes a rollback, the next stage, a promotion
or an observation. The decision is made against the site as loaded inside the conflict-retried
append: a canary decided meanwhile (another deployer, or one restarted) gets nothing more, so a
canary is never promoted twice nor a rollback lost.
"""

from __future__ import annotations

from datetime import datetime

from bdg_contracts import release_events as rv
from bdg_contracts.base import Event
from bdg_deployer.canary_policy import CanaryPolicy, Verdict
from bdg_jobs.aggregate import Cause
from bdg_jobs.sites import Canary, Site


def decide_step(
    site: Site,
    judged: Canary,
    verdict: Verdict,
    policy: CanaryPolicy,
    now: datetime,
    counts: tuple[rv.ReleaseCounts, rv.ReleaseCounts | None],
    cause: Cause,
) -> type[Event] | None:
    """``counts``: the canary's and the stable's, cumulative. None: decided meanwhile."""
    current = site.canary
    if current is None or (current.release, current.stage) != (judged.release, judged.stage):
        return None
    canary, stable = counts
    if verdict.roll_back:
        site.roll_back(cause, judged.release, rv.AutomaticReason(figures=verdict.figures))
        return rv.ReleaseRolledBack
    if not policy.stage_done(verdict, judged.stages[judged.stage], judged.stage_started, now):
        site.observe(cause, canary, stable, verdict.figures)
        return rv.CanaryObserved
    if judged.stage + 1 < len(judged.stages):
        site.advance(cause, canary, stable)
        return rv.CanaryAdvanced
    site.promote(cause, judged.release, rv.AutomaticReason(figures=verdict.figures))
    return rv.ReleasePromoted
