"""Where a bench job's wall time went, per step, read from the job's log. A service appends a
step's events together as the step ends (its model calls' ``LlmCalled`` included), so the gap
before an event is time its producer spent: planning, coding (tool calls appended as they
run), testing. The review runs in the planner's service; its ``LlmCalled`` (role ``reviewer``)
is the first event of its step, so a model call's gap goes to its role, which sets it apart."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise

from bdg_contracts import events as ev
from bdg_contracts.base import Event


def step_seconds(history: Sequence[Event]) -> dict[str, float]:
    """Seconds per producer (the role, for a model call), rounded to 0.1."""
    spent: dict[str, float] = {}
    for before, event in pairwise(history):
        gap = max((event.occurred_at - before.occurred_at).total_seconds(), 0.0)
        who = event.role if isinstance(event, ev.LlmCalled) else event.producer
        spent[who] = spent.get(who, 0.0) + gap
    return {who: round(seconds, 1) for who, seconds in sorted(spent.items())}


def summed(rows: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """The steps' seconds over many jobs."""
    total: dict[str, float] = {}
    for row in rows:
        for who, seconds in row.items():
            total[who] = total.get(who, 0.0) + seconds
    return {who: round(seconds, 1) for who, seconds in sorted(total.items())}


def shown(seconds: Mapping[str, float]) -> str:
    """``planner 41 s, coder 30 s`` (biggest first, under a second left out)."""
    ranked = sorted(seconds.items(), key=lambda item: -item[1])
    return ", ".join(f"{who} {value:.0f} s" for who, value in ranked if value >= 0.5) or "none"
