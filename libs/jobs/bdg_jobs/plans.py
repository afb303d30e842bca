"""A job's plan versions and the differences between them (pure: from the history alone)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bdg_contracts import events as ev
from bdg_contracts.base import Event


@dataclass(frozen=True)
class PlanVersion:
    number: int  # 1 = the planner's first draft
    markdown: str
    author: str  # the producer: "planner" or "user:<id>"
    event_version: int
    at: datetime
    kind: str  # "draft" (the planner's, before the critic is satisfied), "ready", "edit"


KINDS: dict[type[Event], str] = {
    ev.PlanDrafted: "draft",
    ev.PlanReady: "ready",
    ev.PlanEdited: "edit",
}


class PlanVersionError(LookupError):
    """No such plan version."""


def plan_versions(history: Sequence[Event]) -> list[PlanVersion]:
    """Every plan the job had, in order: the planner's drafts (PlanDrafted), the plan it put up
    for approval (PlanReady) and each person's edit (PlanEdited)."""
    versions: list[PlanVersion] = []
    for event in history:
        if isinstance(event, ev.PlanDrafted | ev.PlanReady | ev.PlanEdited):
            versions.append(
                PlanVersion(
                    len(versions) + 1,
                    event.plan_markdown,
                    event.producer,
                    event.version,
                    event.occurred_at,
                    KINDS[type(event)],
                )
            )
    return versions


def plan_diff(history: Sequence[Event], from_number: int, to_number: int) -> str:
    """A unified diff between two plan versions ('' when they are equal)."""
    versions = plan_versions(history)

    def pick(number: int) -> PlanVersion:
        if not 1 <= number <= len(versions):
            raise PlanVersionError(f"no plan version {number} (the job has {len(versions)})")
        return versions[number - 1]

    old, new = pick(from_number), pick(to_number)
    return "".join(
        difflib.unified_diff(
            old.markdown.splitlines(keepends=True),
            new.markdown.splitlines(keepends=True),
            fromfile=f"plan v{old.number} ({old.kind}, {old.author})",
            tofile=f"plan v{new.number} ({new.kind}, {new.author})",
        )
    )
