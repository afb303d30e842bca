"""A site's history as the deployer would write it, for the sites API's tests: releases of built
artifacts (digests made up, no files behind them: the API reads events only), a canary with the
edge's figures, appended through ``SiteCommands`` like the deployer's own decisions."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import psycopg

from bdg_contracts import release_events as rv
from bdg_jobs.aggregate import Cause
from bdg_jobs.projector import catch_up
from bdg_jobs.site_commands import SiteCommands
from bdg_jobs.site_reading.projection import SitesProjection
from bdg_jobs.sites import Site
from bdg_jobs.store import JobStore

STAGES = (rv.CanaryStage(percent=10), rv.CanaryStage(percent=50))


def cause() -> Cause:
    return Cause("deployer", datetime.now(UTC), None)


def counts(release: str, requests: int, errors: int) -> rv.ReleaseCounts:
    return rv.ReleaseCounts(
        release=release, requests=requests, errors=errors, p50_ms=3.5, p95_ms=12.0
    )


FIGURES = rv.DecisionFigures(
    canary_requests=40, canary_errors=1, stable_requests=400, stable_errors=2, threshold=0.01,
    p0=0.005, p1=0.015, llr=0.4, upper=2.9, lower=-2.2,
)  # fmt: skip


@dataclass(frozen=True)
class BuiltSite:
    site_id: UUID
    stable: str
    canary: str
    job: UUID


async def release(sites: SiteCommands, tenant: str, site_id: UUID, job: UUID) -> str:
    build, name = f"b-{secrets.token_hex(4)}", f"r-{secrets.token_hex(4)}"
    digest = hashlib.sha256(name.encode()).hexdigest()

    def decide(site: Site) -> None:
        site.start_build(cause(), build, "static public/", job)
        site.finish_build(cause(), build, digest, 2, 120)
        url = f"http://{name}.production-{site_id.hex[:8]}.localhost:8790/"
        site.create_release(cause(), name, build, "local", name, url)

    await sites.execute(tenant, site_id, decide)
    return name


async def site_in_canary(store: JobStore, tenant: str, repo: str = "") -> BuiltSite:
    """A site whose first release is stable and whose second is a canary at stage 1 of 2,
    observed once (the canary 1 error in 40, the stable 2 in 400)."""
    sites = SiteCommands(store)
    site = await sites.ensure(tenant, cause(), repo or f"/srv/{tenant}/site", "production")
    job = UUID(int=secrets.randbits(128))
    first = await release(sites, tenant, site.site_id, job)
    reason = rv.ManualReason(by="deployer", note="first release of the site")
    await sites.execute(tenant, site.site_id, lambda s: s.promote(cause(), first, reason))
    second = await release(sites, tenant, site.site_id, job)

    def canary(s: Site) -> None:
        s.start_canary(cause(), second, STAGES, 0.01)
        s.observe(cause(), counts(second, 40, 1), counts(first, 400, 2), FIGURES)

    await sites.execute(tenant, site.site_id, canary)
    return BuiltSite(site.site_id, first, second, job)


def project_sites(store: JobStore, database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        catch_up(store, conn, projection=SitesProjection())
