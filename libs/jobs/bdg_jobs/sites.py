"""The site aggregate: one (tenant, repository, target), its builds, releases and canaries.

Pure, like the job: decisions append events, state is rebuilt from them. What happens outside
(a build's digest, the edge's counts, a test's figures, the clock) comes in as arguments and is
stored in the event. Promote and rollback move ``stable`` between releases already created:
nothing is rebuilt. A canary's stage and window start are in the log, so a deployer that was
killed resumes the canary where the events left it, and a decided canary is never decided twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Self
from uuid import UUID

from bdg_contracts import release_events as rv
from bdg_contracts.base import Event
from bdg_contracts.index_events import normalize_repo
from bdg_jobs.aggregate import Aggregate, Cause
from bdg_jobs.errors import DomainError
from bdg_jobs.event_dispatch import event_dispatch


class SiteStateError(DomainError):
    """Not now: no such build or release, a canary already running, nothing to roll back to."""


@dataclass
class Build:
    name: str
    command: str
    source_job: UUID | None = None
    digest: str | None = None
    files: int = 0
    size: int = 0
    failed: str | None = None


@dataclass
class ReleaseState:
    name: str
    build: str
    digest: str
    provider: str
    preview_url: str
    deployment_id: str = ""  # the provider's name for it: what promote and rollback send


@dataclass
class Canary:
    release: str
    stable: str | None
    stages: tuple[rv.CanaryStage, ...]
    threshold: float
    stage: int
    stage_started: datetime
    # Cumulative counts when the stage began: each stage's test reads its own window.
    canary_at: rv.ReleaseCounts
    stable_at: rv.ReleaseCounts | None

    @property
    def percent(self) -> float:
        return self.stages[self.stage].percent


@dataclass
class Site(Aggregate):
    site_id: UUID
    repo: str = ""
    target: str = ""
    builds: dict[str, Build] = field(default_factory=dict)
    releases: dict[str, ReleaseState] = field(default_factory=dict)
    stable: str | None = None  # the release the production URL serves
    canary: Canary | None = None
    promoted: list[str] = field(default_factory=list)  # stable releases in order, for rollback
    rolled_back: set[str] = field(default_factory=set)

    first_event = rv.SiteCreated
    history_name = "a site"

    @classmethod
    def blank(cls, aggregate_id: UUID, tenant_id: str) -> Self:
        return cls(site_id=aggregate_id, tenant_id=tenant_id)

    @property
    def aggregate_id(self) -> UUID:
        return self.site_id

    @classmethod
    def create(cls, tenant_id: str, cause: Cause, repo: str, target: str) -> Self:
        site = cls.blank(rv.site_id(tenant_id, repo, target), tenant_id)
        site._append(rv.SiteCreated, cause, repo=normalize_repo(repo), target=target)
        return site

    # -- builds -----------------------------------------------------------------------------
    def start_build(
        self, cause: Cause, build: str, command: str, source_job: UUID | None, commit: str = ""
    ) -> None:
        if build in self.builds:
            raise SiteStateError(f"build {build} exists already")
        self._append(
            rv.BuildStarted,
            cause,
            build=build,
            command=command,
            source_job=source_job,
            commit=commit,
        )

    def finish_build(self, cause: Cause, build: str, digest: str, files: int, size: int) -> None:
        self._running_build(build)
        self._append(
            rv.BuildFinished, cause, build=build, artifact_digest=digest, files=files, size=size
        )

    def fail_build(self, cause: Cause, build: str, output: str) -> None:
        self._running_build(build)
        self._append(rv.BuildFailed, cause, build=build, output=output[-20_000:])

    # -- releases ---------------------------------------------------------------------------
    def create_release(
        self, cause: Cause, release: str, build: str, provider: str, deployment_id: str, url: str
    ) -> None:
        built = self.builds.get(build)
        if built is None or built.digest is None:
            raise SiteStateError(f"build {build} has no artifact")
        if release in self.releases:
            raise SiteStateError(f"release {release} exists already")
        self._append(
            rv.ReleaseCreated,
            cause,
            release=release,
            build=build,
            artifact_digest=built.digest,
            provider=provider,
            deployment_id=deployment_id,
            preview_url=url,
        )

    def start_canary(
        self,
        cause: Cause,
        release: str,
        stages: tuple[rv.CanaryStage, ...],
        threshold: float,
        stable_counts: rv.ReleaseCounts | None = None,
        canary_counts: rv.ReleaseCounts | None = None,
    ) -> None:
        self._release(release)
        if self.canary is not None:
            raise SiteStateError(f"release {self.canary.release} is in canary already")
        if release == self.stable:
            raise SiteStateError(f"release {release} is serving already")
        self._append(
            rv.CanaryStarted,
            cause,
            release=release,
            stable=self.stable,
            stages=stages,
            threshold=threshold,
            stable_counts=stable_counts,
            canary_counts=canary_counts,
        )

    def observe(
        self,
        cause: Cause,
        canary: rv.ReleaseCounts,
        stable: rv.ReleaseCounts | None,
        figures: rv.DecisionFigures,
    ) -> None:
        running = self._running_canary()
        self._append(
            rv.CanaryObserved,
            cause,
            release=running.release,
            stage=running.stage,
            window_start=running.stage_started,
            canary=canary,
            stable=stable,
            figures=figures,
        )

    def advance(
        self, cause: Cause, canary: rv.ReleaseCounts, stable: rv.ReleaseCounts | None
    ) -> None:
        running = self._running_canary()
        if running.stage + 1 >= len(running.stages):
            raise SiteStateError("the last stage is followed by a promotion, not a stage")
        nxt = running.stage + 1
        self._append(
            rv.CanaryAdvanced,
            cause,
            release=running.release,
            stage=nxt,
            percent=running.stages[nxt].percent,
            canary=canary,
            stable=stable,
        )

    def promote(
        self, cause: Cause, release: str, reason: rv.AutomaticReason | rv.ManualReason
    ) -> None:
        """The release serves the production URL; a canary of it (or of another) ends."""
        self._release(release)
        if release == self.stable:
            raise SiteStateError(f"release {release} is serving already")
        self._append(
            rv.ReleasePromoted, cause, release=release, previous=self.stable, reason=reason
        )

    def roll_back(
        self, cause: Cause, release: str, reason: rv.AutomaticReason | rv.ManualReason
    ) -> None:
        """Take ``release`` out: a canary stops getting traffic; a stable release gives the
        production URL back to the one promoted before it."""
        self._release(release)
        if self.canary is not None and self.canary.release == release:
            to = self.stable
        elif release == self.stable:
            earlier = [r for r in self.promoted if r not in self.rolled_back and r != release]
            if not earlier:
                raise SiteStateError(f"no release before {release} to roll back to")
            to = earlier[-1]
        else:
            raise SiteStateError(f"release {release} is neither serving nor in canary")
        self._append(rv.ReleaseRolledBack, cause, release=release, to_release=to, reason=reason)

    def fail_deploy(
        self, cause: Cause, provider: str, message: str, status: int | None, release: str | None
    ) -> None:
        self._append(
            rv.DeployFailed,
            cause,
            provider=provider,
            message=message[:4000],
            status=status,
            release=release,
        )

    def releases_of_job(self, job_id: UUID) -> list[str]:
        """The releases built from ``job_id``'s change, oldest first."""
        return [
            name
            for name, release in self.releases.items()
            if self.builds[release.build].source_job == job_id
        ]

    def preview_of_job(self, job_id: UUID, build: str) -> str | None:
        """The job's release of ``build`` that never had traffic: the preview made before its
        deploy approval, which the deploy rolls out. None when there is none (or it served)."""
        canary = self.canary.release if self.canary else None
        served = {self.stable, canary, *self.promoted, *self.rolled_back}
        waiting = [
            name
            for name in self.releases_of_job(job_id)
            if self.releases[name].build == build and name not in served
        ]
        return waiting[-1] if waiting else None

    # -- checks -----------------------------------------------------------------------------
    def _running_build(self, build: str) -> Build:
        found = self.builds.get(build)
        if found is None or found.digest is not None or found.failed is not None:
            raise SiteStateError(f"build {build} is not running")
        return found

    def _release(self, release: str) -> ReleaseState:
        found = self.releases.get(release)
        if found is None:
            raise SiteStateError(f"no release {release}")
        return found

    def _running_canary(self) -> Canary:
        if self.canary is None:
            raise SiteStateError("no canary is running")
        return self.canary

    # -- evolving ---------------------------------------------------------------------------
    def _when(self, event: Event) -> None:
        self._mutate(event)

    @event_dispatch
    def _mutate(self, event: Event) -> None:
        """Events that change nothing beyond the version (CanaryObserved, DeployFailed)."""

    @_mutate.register
    def _(self, event: rv.SiteCreated) -> None:
        self.repo, self.target = event.repo, event.target

    @_mutate.register
    def _(self, event: rv.BuildStarted) -> None:
        self.builds[event.build] = Build(event.build, event.command, event.source_job)

    @_mutate.register
    def _(self, event: rv.BuildFinished) -> None:
        build = self.builds[event.build]
        build.digest, build.files, build.size = event.artifact_digest, event.files, event.size

    @_mutate.register
    def _(self, event: rv.BuildFailed) -> None:
        self.builds[event.build].failed = event.output

    @_mutate.register
    def _(self, event: rv.ReleaseCreated) -> None:
        self.releases[event.release] = ReleaseState(
            event.release,
            event.build,
            event.artifact_digest,
            event.provider,
            event.preview_url,
            event.deployment_id,
        )

    @_mutate.register
    def _(self, event: rv.CanaryStarted) -> None:
        self.canary = Canary(
            release=event.release,
            stable=event.stable,
            stages=event.stages,
            threshold=event.threshold,
            stage=0,
            stage_started=event.occurred_at,
            canary_at=event.canary_counts
            or rv.ReleaseCounts(release=event.release, requests=0, errors=0),
            stable_at=event.stable_counts,
        )

    @_mutate.register
    def _(self, event: rv.CanaryAdvanced) -> None:
        assert self.canary is not None
        self.canary.stage, self.canary.stage_started = event.stage, event.occurred_at
        self.canary.canary_at, self.canary.stable_at = event.canary, event.stable

    @_mutate.register
    def _(self, event: rv.ReleasePromoted) -> None:
        self.stable, self.canary = event.release, None
        self.promoted.append(event.release)
        self.rolled_back.discard(event.release)  # promoted again by hand: a target again

    @_mutate.register
    def _(self, event: rv.ReleaseRolledBack) -> None:
        self.rolled_back.add(event.release)
        if self.canary is not None and self.canary.release == event.release:
            self.canary = None
        else:
            self.stable = event.to_release
