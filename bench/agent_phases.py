"""Where a bench job's wall time went: the seconds each role's model calls took, read from the
job's log. An ``LlmCalled`` is appended as its answer arrives, so the gap since the event before
it is that call (and the little the service did between); with one candidate a job's calls run
one at a time. What is left of the job's time is the rest: tests, sandbox, bus, waiting."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise

from bdg_contracts import events as ev
from bdg_contracts.base import Event


def model_seconds(history: Sequence[Event]) -> dict[str, float]:
    """Seconds per role (planner, coder, reviewer...), rounded to 0.1."""
    spent: dict[str, float] = {}
    for before, event in pairwise(history):
        if isinstance(event, ev.LlmCalled):
            gap = (event.occurred_at - before.occurred_at).total_seconds()
            spent[event.role] = spent.get(event.role, 0.0) + max(gap, 0.0)
    return {role: round(seconds, 1) for role, seconds in sorted(spent.items())}


def summed(rows: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """The roles' seconds over many jobs."""
    total: dict[str, float] = {}
    for row in rows:
        for role, seconds in row.items():
            total[role] = total.get(role, 0.0) + seconds
    return {role: round(seconds, 1) for role, seconds in sorted(total.items())}


def shown(seconds: Mapping[str, float]) -> str:
    """``planner 41 s, coder 30 s`` (biggest first)."""
    ranked = sorted(seconds.items(), key=lambda item: -item[1])
    return ", ".join(f"{role} {value:.0f} s" for role, value in ranked) or "no model call"
