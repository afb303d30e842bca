"""Pure coding logic: what a coding attempt is given, and what it gives back."""

from __future__ import annotations

from dataclasses import dataclass
from functools import singledispatch

from bdg_contracts import events as ev
from bdg_contracts.base import Event


@dataclass(frozen=True)
class Patch:
    paths: tuple[str, ...]
    patch: str


@dataclass(frozen=True)
class Changes:
    """The outcome of one attempt: patches in the order they apply, and a summary."""

    patches: tuple[Patch, ...]
    summary: str = ""


@dataclass(frozen=True)
class CodingTask:
    goal: str
    plan_markdown: str
    attempt: int
    feedback: str = ""


@singledispatch
def feedback_of(event: Event) -> str:
    """What the attempt should address: nothing for a fresh plan."""
    return ""


@feedback_of.register
def _(event: ev.TestsFailed) -> str:
    r = event.results
    head = f"attempt {event.attempt}: {r.failed} of {r.total} tests failed"
    return "\n".join(part for part in (head, event.analysis, r.output_tail) if part)


@feedback_of.register
def _(event: ev.ReviewCompleted) -> str:
    return f"review rejected (score {event.score}): {event.notes}"


def needs_rework(review: ev.ReviewCompleted) -> bool:
    return not review.approved
