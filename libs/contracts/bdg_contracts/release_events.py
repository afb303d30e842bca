"""A site's builds and releases: events of the ``site`` aggregate (DESIGN.md section 9).

A site is one (tenant, repository, target): ``site_id`` names it, so the same repository of one
tenant deployed to one target is one history. They share the job log (one outbox, one audit
trail, one relay), as a repository's index does. A release names an artifact digest; promote and
rollback point at an earlier release, never at a new build.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from bdg_contracts.base import Contract, Event
from bdg_contracts.index_events import normalize_repo

_SITE_NAMESPACE = UUID("0f3b9a52-7c1e-5d4a-8e21-73697465730a")
DIGEST = r"^[0-9a-f]{64}$"  # sha256, hex
NAME = r"^[a-z0-9][a-z0-9-]{0,62}$"  # a DNS label: targets and release names go in host names


JOB_TARGET = "production"  # where a job's site is deployed


def site_id(tenant_id: str, repo: str, target: str) -> UUID:
    return uuid.uuid5(_SITE_NAMESPACE, f"{tenant_id}\n{normalize_repo(repo)}\n{target}")


def job_site_repo(repo: str, job_id: UUID) -> str:
    """The repository a job's site is keyed by: the job's, or the job itself when it named
    none (its workspace started empty)."""
    return repo or f"job:{job_id}"


def job_site_id(tenant_id: str, repo: str, job_id: UUID) -> UUID:
    """The site a job's releases go to: the deployer and the job's stream agree on it."""
    return site_id(tenant_id, job_site_repo(repo, job_id), JOB_TARGET)


class SiteEvent(Event):
    aggregate: ClassVar[str] = "site"


class CanaryStage(Contract):
    """One step of a rollout: the canary's share, held at least this long and this many
    requests before the next step (Argo Rollouts' setWeight + pause, Vercel's stages)."""

    percent: float = Field(gt=0, lt=100)
    min_seconds: float = Field(default=60, ge=0)
    min_requests: int = Field(default=100, ge=0)


class ReleaseCounts(Contract):
    """What the edge counted for one release over a window."""

    release: str = Field(pattern=NAME)
    requests: int = Field(ge=0)
    errors: int = Field(ge=0, description="server 5xx plus client beacon errors")
    p50_ms: float = Field(default=0, ge=0)
    p95_ms: float = Field(default=0, ge=0)


class DecisionFigures(Contract):
    """A sequential probability ratio test of the canary's errors against the stable release:
    H0 the canary errs at ``p0``, H1 at ``p1``; rollback at ``llr >= upper``, healthy at
    ``llr <= lower``."""

    canary_requests: int = Field(ge=0)
    canary_errors: int = Field(ge=0)
    stable_requests: int = Field(ge=0)
    stable_errors: int = Field(ge=0)
    threshold: float = Field(gt=0, lt=1, description="error rate over the stable's: too many")
    p0: float = Field(gt=0, lt=1)
    p1: float = Field(gt=0, lt=1)
    llr: float
    upper: float
    lower: float


class AutomaticReason(Contract):
    figures: DecisionFigures


class ManualReason(Contract):
    by: str = Field(min_length=1, max_length=200, description="the user who asked")
    note: str = Field(default="", max_length=2_000)


class SiteCreated(SiteEvent):
    repo: str = Field(min_length=1, max_length=2_000)
    target: str = Field(pattern=NAME)


class BuildStarted(SiteEvent):
    build: str = Field(pattern=NAME)
    source_job: UUID | None = Field(default=None, description="the job whose change is built")
    commit: str = Field(default="", max_length=64)
    command: str = Field(max_length=500, description="what builds it: a static folder or npm")


class BuildFinished(SiteEvent):
    build: str = Field(pattern=NAME)
    artifact_digest: str = Field(pattern=DIGEST, description="sha256 of the manifest")
    files: int = Field(ge=0)
    size: int = Field(ge=0, description="bytes, all files")


class BuildFailed(SiteEvent):
    build: str = Field(pattern=NAME)
    output: str = Field(max_length=20_000)


class ReleaseCreated(SiteEvent):
    release: str = Field(pattern=NAME)
    build: str = Field(pattern=NAME)
    artifact_digest: str = Field(pattern=DIGEST)
    provider: str = Field(min_length=1, max_length=50)
    deployment_id: str = Field(max_length=200)
    preview_url: str = Field(max_length=2_000)


class CanaryStarted(SiteEvent):
    release: str = Field(pattern=NAME)
    stable: str | None = Field(default=None, pattern=NAME)
    stages: tuple[CanaryStage, ...] = Field(min_length=1)
    threshold: float = Field(gt=0, lt=1)
    # The counts at the start: the first window's origin (a health check was counted).
    canary_counts: ReleaseCounts | None = None
    stable_counts: ReleaseCounts | None = None


class CanaryObserved(SiteEvent):
    release: str = Field(pattern=NAME)
    stage: int = Field(ge=0)
    window_start: datetime
    canary: ReleaseCounts
    stable: ReleaseCounts | None = None
    figures: DecisionFigures


class CanaryAdvanced(SiteEvent):
    """The next stage; the counts so far are its window's start (each stage is its own test)."""

    release: str = Field(pattern=NAME)
    stage: int = Field(ge=1)
    percent: float = Field(gt=0, lt=100)
    canary: ReleaseCounts
    stable: ReleaseCounts | None = None


class ReleasePromoted(SiteEvent):
    release: str = Field(pattern=NAME)
    previous: str | None = Field(default=None, pattern=NAME)
    reason: AutomaticReason | ManualReason


class ReleaseRolledBack(SiteEvent):
    release: str = Field(pattern=NAME, description="the release taken out")
    to_release: str | None = Field(default=None, pattern=NAME, description="now serving")
    reason: AutomaticReason | ManualReason


class DeployFailed(SiteEvent):
    release: str | None = Field(default=None, pattern=NAME)
    provider: str = Field(min_length=1, max_length=50)
    status: int | None = None
    message: str = Field(max_length=4_000)
