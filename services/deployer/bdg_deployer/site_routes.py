"""What the edge should serve for a site, derived from the site's events alone (pure).

The route table is a projection of the site aggregate: after every decision the deployer writes
``route_of(site)``, and a restarted deployer writes it again from the log, so traffic never
disagrees with the events for longer than one write.
"""

from __future__ import annotations

from bdg_deployer.edge.routes import SiteRoute
from bdg_jobs.sites import Site


def site_label(site: Site) -> str:
    """A DNS label per site: ``<target>-<8 hex of the site id>``."""
    return f"{site.target[:54]}-{site.site_id.hex[:8]}"


def route_of(site: Site) -> SiteRoute:
    releases = {name: r.digest for name, r in site.releases.items()}
    tenant, site_id, version = site.tenant_id, str(site.site_id), site.version
    if site.canary is None:
        return SiteRoute(
            tenant=tenant, site_id=site_id, version=version, stable=site.stable, releases=releases
        )
    return SiteRoute(
        tenant=tenant,
        site_id=site_id,
        version=version,
        stable=site.stable,
        canary=site.canary.release,
        percent=site.canary.percent,
        releases=releases,
    )


def preview_url(label: str, release: str, port: int) -> str:
    return f"http://{release}.{label}.localhost:{port}/"


def production_url(label: str, port: int) -> str:
    return f"http://{label}.localhost:{port}/"
