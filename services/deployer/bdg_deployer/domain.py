"""Pure deploy logic: what is asked of a provider and what it answers."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from bdg_contracts import events as ev


@dataclass(frozen=True)
class DeployTask:
    job_id: UUID
    tenant_id: str
    goal: str
    deployed_url: str = ""


@dataclass(frozen=True)
class Release:
    """What a human approves: where it goes and what it will look like."""

    target: str
    preview: str = ""


@dataclass(frozen=True)
class Deployment:
    url: str
    canary: bool = False


def ready_to_ship(review: ev.ReviewCompleted) -> bool:
    """Only an approving review leads to a deploy; a rejecting one goes back to coding."""
    return review.approved
