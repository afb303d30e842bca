"""Site use cases on the site's provider: store a build, release it, run its canary, decide.

Each method loads the site, decides, appends (``SiteCommands``), then makes the traffic follow
the events: the edge's route for the site (``route_of``), and the move the release's provider
must make (``providers/follow.py``; nothing for the edge itself). The log is the truth, the
route table and the clouds follow it. The provider is chosen per site target
(``providers/choose.py``), before any build. A decision is taken once: ``watch_once``
re-checks, inside the conflict-retried decision, that the canary it judged is still the one
running at the same stage, so a second deployer (or one restarted mid-canary) never promotes
twice nor loses a rollback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NoReturn
from uuid import UUID

import httpx

from bdg_contracts import release_events as rv
from bdg_contracts.base import Event
from bdg_contracts.ids import new_event_id
from bdg_deployer.artifacts import ArtifactError, ArtifactStore
from bdg_deployer.beacon.publish import CloudBeacon
from bdg_deployer.canary_policy import DEFAULT_STAGES, CanaryPolicy, Window
from bdg_deployer.canary_step import decide_step
from bdg_deployer.edge.routes import update_site
from bdg_deployer.edge_client import EdgeClient
from bdg_deployer.providers.base import DeployTarget, ProviderConfigError, ProviderError
from bdg_deployer.providers.choose import ProviderChoice
from bdg_deployer.providers.files import ArtifactFiles
from bdg_deployer.providers.follow import follow, release_of, settle
from bdg_deployer.providers.local import LocalEdge
from bdg_deployer.providers.moves import Traffic, moves
from bdg_deployer.site_routes import route_of, site_label
from bdg_jobs.aggregate import Cause
from bdg_jobs.site_commands import SiteCommands
from bdg_jobs.sites import Site


def new_name(prefix: str) -> str:
    return f"{prefix}-{new_event_id().lower()}"


class ReleaseRefusedError(Exception):
    """The release cannot get traffic: its artifact is missing or altered, its preview failed
    the health check, or its provider refused. ``DeployFailed`` is recorded with the same
    message."""


@dataclass(frozen=True)
class EdgeSite:
    """Where the edge is and what it reads: the route table and the artifact store."""

    routes: Path
    artifacts: ArtifactStore
    client: EdgeClient
    port: int
    beacon: CloudBeacon | None = None  # None: cloud releases carry no beacon script


class Releasing:
    def __init__(
        self,
        sites: SiteCommands,
        edge: EdgeSite,
        clock: Callable[[], datetime],
        stages: tuple[rv.CanaryStage, ...] = DEFAULT_STAGES,
        threshold: float = CanaryPolicy().threshold,
        producer: str = "deployer",
        providers: ProviderChoice | None = None,
    ) -> None:
        self.sites, self.edge, self.clock = sites, edge, clock
        self.stages, self.threshold, self.producer = stages, threshold, producer
        self.providers = providers or ProviderChoice(LocalEdge(edge.client, edge.port))
        # Sites whose provider may not serve what the events say: every site once per process
        # (a deployer killed between an event and its provider call), and any site whose move
        # a provider refused, until it is settled (canary_watch).
        self.settled: set[tuple[str, UUID]] = set()

    def _cause(self, user: str | None = None) -> Cause:
        producer = f"user:{user}" if user else self.producer
        return Cause(producer, self.clock(), new_event_id(), user)

    async def _decide(self, tenant: str, site_id: UUID, decide: Callable[[Site], None]) -> Site:
        """Append the decision, then make the traffic follow it: the edge's route table, and
        the move a cloud provider must make (``DeployFailed`` when it refuses)."""
        before: list[Traffic] = []

        def deciding(site: Site) -> None:
            before[:] = [Traffic.of(site)]
            decide(site)

        await self.sites.execute(tenant, site_id, deciding)
        site = await self.route(tenant, site_id)
        if before:
            await self.follow_provider(tenant, site, before[0])
        return site

    async def route(self, tenant: str, site_id: UUID) -> Site:
        """Write the edge's route for the site from its events (at once: the edge re-reads the
        table on its next request)."""
        site = await self.sites.get(tenant, site_id)
        await asyncio.to_thread(update_site, self.edge.routes, site_label(site), route_of(site))
        return site

    async def follow_provider(self, tenant: str, site: Site, before: Traffic) -> None:
        """The move the release's provider must make from ``before`` to the site now;
        ``DeployFailed`` (and ``ReleaseRefusedError``) when it refuses (settled later)."""
        try:
            await follow(self.providers, tenant, site, before)
        except (ProviderError, ProviderConfigError) as error:
            self.settled.discard((tenant, site.site_id))
            release = release_of(moves(before, Traffic.of(site))[0])
            provider = site.releases[release].provider
            status = error.status if isinstance(error, ProviderError) else None
            await self._fail(tenant, site.site_id, release, str(error), provider, status)

    async def traffic_at(self, tenant: str, site_id: UUID, version: int) -> Traffic:
        """Who served the site at ``version`` (a decision appended by someone else started
        there): folded from the log, tenant-checked like ``get``."""
        await self.sites.get(tenant, site_id)  # another tenant's site is no site
        history = await asyncio.to_thread(self.sites.store.history, site_id, 0, version)
        return Traffic.of(Site.replay(history))

    async def settle(self, tenant: str, site_id: UUID) -> bool:
        """The site's provider serves its stable release again if it did not (``follow.settle``);
        ``ProviderError`` when it still refuses (tried again next turn)."""
        moved = await settle(self.providers, tenant, await self.sites.get(tenant, site_id))
        self.settled.add((tenant, site_id))
        return moved

    async def target_of(self, tenant: str, site: Site) -> DeployTarget:
        """The provider the site's next release goes to; ``DeployFailed`` and
        ``ReleaseRefusedError`` when there is none (unknown, or no credentials)."""
        try:
            return await self.providers.for_target(tenant, site.target)
        except ProviderConfigError as error:
            await self._fail(tenant, site.site_id, None, str(error), error.provider)
            raise  # unreachable: _fail raises

    # -- build and release ------------------------------------------------------------------
    async def store_build(
        self,
        tenant: str,
        site_id: UUID,
        folder: Path | None,
        command: str,
        source_job: UUID | None,
        failure: str = "",
    ) -> str:
        """Record a build: ``folder`` into the artifact store, or the failure's output when the
        build made no folder. The build's name (its events say how it went)."""
        build = new_name("b")
        await self._decide(
            tenant, site_id, lambda s: s.start_build(self._cause(), build, command, source_job)
        )
        try:
            if folder is None:
                raise ArtifactError(failure or "the build made no site")
            manifest = await asyncio.to_thread(self.edge.artifacts.put, folder)
        except (ArtifactError, OSError) as error:
            output = str(error)
            await self._decide(
                tenant, site_id, lambda s: s.fail_build(self._cause(), build, output)
            )
            return build
        await self._decide(
            tenant,
            site_id,
            lambda s: s.finish_build(
                self._cause(), build, manifest.digest, len(manifest.files), manifest.size
            ),
        )
        return build

    async def release(self, tenant: str, site_id: UUID, build: str) -> str:
        """Create a release of ``build`` on the site's provider, once its artifact verifies and
        the provider made it ready (on the edge: once its preview answers); the release's name.
        ``ReleaseRefusedError`` (and ``DeployFailed``) otherwise, with no traffic given."""
        site = await self.sites.get(tenant, site_id)
        target = await self.target_of(tenant, site)
        built = site.builds.get(build)
        digest = built.digest if built else None
        name = new_name("r")
        try:
            if digest is None:
                raise ArtifactError(f"build {build} has no artifact")
            manifest = await asyncio.to_thread(self.edge.artifacts.verify, digest)
        except ArtifactError as error:
            await self._fail(tenant, site_id, None, str(error), target.name)
        files = ArtifactFiles(
            manifest, self.edge.artifacts, self._added(tenant, site, target, name)
        )
        try:
            published = await target.publish(name, files, site_label(site))
        except ProviderError as error:
            await self._fail(tenant, site_id, None, str(error), target.name, error.status)
        await self._decide(
            tenant,
            site_id,
            lambda s: s.create_release(
                self._cause(),
                name,
                build,
                target.name,
                published.deployment_id,
                published.preview_url,
            ),
        )
        if isinstance(target, LocalEdge):  # a cloud's deployment is ready when published
            ok, said = await self.edge.client.healthy(f"{name}.{site_label(site)}.localhost")
            if not ok:
                url = published.preview_url
                await self._fail(tenant, site_id, name, f"health check of {url}: {said}")
        return name

    def _added(
        self, tenant: str, site: Site, target: DeployTarget, release: str
    ) -> dict[str, bytes]:
        """The client beacon, for a cloud canary the edge cannot count (``beacon/publish.py``)."""
        if self.edge.beacon is None or target is self.providers.local:
            return {}
        if not target.capabilities.canary:
            return {}
        return self.edge.beacon.files(tenant, str(site.site_id), release)

    async def _fail(
        self,
        tenant: str,
        site_id: UUID,
        release: str | None,
        message: str,
        provider: str = "local",
        status: int | None = None,
    ) -> NoReturn:
        await self._decide(
            tenant,
            site_id,
            lambda s: s.fail_deploy(self._cause(), provider, message, status, release),
        )
        raise ReleaseRefusedError(message)

    # -- traffic ----------------------------------------------------------------------------
    async def roll_out(self, tenant: str, site_id: UUID, release: str) -> None:
        """A canary against the stable release; the first release of a site, with nothing to
        compare against, is promoted straight away."""
        site = await self.sites.get(tenant, site_id)
        target = await self.providers.named(tenant, site.releases[release].provider)
        if site.stable is None or not target.capabilities.canary:
            note = (
                "first release of the site"
                if site.stable is None
                else f"{target.name} has no canary: promoted once its deployment was ready"
            )
            reason = rv.ManualReason(by=self.producer, note=note)
            await self._decide(tenant, site_id, lambda s: s.promote(self._cause(), release, reason))
            return
        try:
            counts = await self._counts(tenant, site, release)
        except httpx.HTTPError:  # the collector unreachable now: the first window starts at 0
            counts = {}
        stable, canary = counts.get(site.stable), counts.get(release)
        await self._decide(
            tenant,
            site_id,
            lambda s: s.start_canary(
                self._cause(), release, self.stages, self.threshold, stable, canary
            ),
        )

    async def _counts(self, tenant: str, site: Site, canary: str) -> dict[str, rv.ReleaseCounts]:
        """The canary's and the stable's counts from the canary's provider (the edge's own
        figures, or a cloud's); for a cloud with no figures of its own, what its pages
        reported to the edge's collector (the client beacon)."""
        target = await self.providers.named(tenant, site.releases[canary].provider)
        named = [r for r in (canary, site.stable) if r is not None]
        ids = {r: site.releases[r].deployment_id or r for r in named}
        counted = await target.counts(ids)
        if counted or target is self.providers.local:
            return counted
        reported = await self.edge.client.beacons()
        return {r: reported[r] for r in named if r in reported}

    async def watch_once(self, tenant: str, site_id: UUID) -> type[Event] | None:
        """Judge the running canary's stage window once and record what follows: a rollback,
        the next stage, a promotion, or an observation. None when no canary runs."""
        site = await self.sites.get(tenant, site_id)
        running = site.canary
        if running is None:
            return None
        counts = await self._counts(tenant, site, running.release)
        zero = rv.ReleaseCounts(release=running.release, requests=0, errors=0)
        canary = counts.get(running.release, zero)
        stable = counts.get(running.stable) if running.stable else None
        window = Window.between(canary, running.canary_at, stable, running.stable_at)
        policy = CanaryPolicy(threshold=running.threshold)
        verdict = policy.judge(window)
        now = self.clock()
        decided: list[type[Event] | None] = []

        def decide(s: Site) -> None:
            cause = self._cause()
            decided[:] = [decide_step(s, running, verdict, policy, now, (canary, stable), cause)]

        await self._decide(tenant, site_id, decide)
        return decided[0] if decided else None

    async def promote(self, tenant: str, site_id: UUID, release: str, user: str) -> None:
        reason = rv.ManualReason(by=user)
        await self._decide(tenant, site_id, lambda s: s.promote(self._cause(user), release, reason))

    async def roll_back(
        self, tenant: str, site_id: UUID, release: str, user: str, *, by_user: bool = True
    ) -> None:
        """``user`` asked (``by_user``), or a job's rollback on the deployer's side did."""
        reason = rv.ManualReason(by=user)
        cause = self._cause(user if by_user else None)
        await self._decide(tenant, site_id, lambda s: s.roll_back(cause, release, reason))
