"""`bdg deploy`: the tenant's sites and releases, one-click promote and rollback, and a live
view of a canary. The same reads and decisions as the sites API
(``bdg_jobs.site_reading.reads``), and the same JSON with ``--json``.

``status --follow`` redraws on every event of the site (its NATS subject, the events of the
site aggregate) and re-reads now and then in case a publish was lost; it ends when no canary
runs any more (promoted or rolled back), with exit code 0 if the canary was promoted, 1 if not.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

import psycopg
import typer
from psycopg_pool import AsyncConnectionPool
from rich.console import Console

from bdg_cli.context import Connected, caller, connected, run
from bdg_cli.deploy_render import percent, print_sites, print_view, releases_json
from bdg_cli.records import AsJson, json_text
from bdg_contracts import commands as cmd
from bdg_contracts import subjects
from bdg_jobs.projector import catch_up
from bdg_jobs.site_commands import SiteCommands, SiteNotFoundError
from bdg_jobs.site_reading.projection import SitesProjection
from bdg_jobs.site_reading.reads import Acted, SiteReads
from bdg_jobs.site_reading.views import SiteView
from bdg_jobs.user_commands import Caller
from bdg_runtime.site_following import NatsSiteFollowing

app = typer.Typer(help="Sites and their releases: list, status, promote, rollback.")
console = Console(highlight=False, soft_wrap=True)
Tenant = Annotated[str | None, typer.Option(help="default: BDG_TENANT or 'local'")]
User = Annotated[str | None, typer.Option(help="default: BDG_USER or $USER")]
RESYNC_SECONDS = 5.0


@contextlib.asynccontextmanager
async def reads(conn: Connected) -> AsyncIterator[SiteReads]:
    """The reads over this connection; the sites projection caught up first (no service may
    be running to keep it)."""
    with psycopg.connect(conn.database_url, autocommit=True) as db:
        await asyncio.to_thread(catch_up, conn.store, db, projection=SitesProjection())
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        conn.database_url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True}
    )
    await pool.open()
    try:
        sites = SiteCommands(conn.store, conn.app.publisher)
        yield SiteReads(sites, pool, conn.app.clock, NatsSiteFollowing(conn.nc))
    finally:
        await pool.close()


async def site_id_of(site_reads: SiteReads, tenant: str, site: str) -> UUID:
    """A site's id, or the unique site whose id starts with ``site`` (as listed)."""
    with contextlib.suppress(ValueError):
        return UUID(site)
    listed = [s["id"] for s in await site_reads.list_sites(tenant)]
    found = [s for s in listed if s.startswith(site.lower())] if site else []
    if len(found) != 1:
        raise SiteNotFoundError(
            f"no site {site!r}" if not found else f"{site!r} names {len(found)} sites"
        )
    return UUID(found[0])


@app.command("list")
def list_sites(as_json: AsJson = False, tenant: Tenant = None, user: User = None) -> None:
    """The tenant's sites: production release, canary and its share."""

    async def main() -> None:
        who = caller(tenant, user)
        async with connected() as conn, reads(conn) as site_reads:
            sites = await site_reads.list_sites(who.tenant_id)
        if as_json:
            console.print(json_text({"sites": sites}), markup=False)
            return
        if not sites:
            console.print("no sites yet (a job whose repository is a site makes one)")
            return
        print_sites(sites)

    run(main())


@app.command()
def status(
    site: Annotated[str, typer.Argument(help="a site's id, or the start of it")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="redraw as the canary goes; end when decided")
    ] = False,
    as_json: AsJson = False,
    tenant: Tenant = None,
    user: User = None,
) -> None:
    """A site's releases: state, traffic share, requests, errors, latency."""

    async def main() -> int:
        who = caller(tenant, user)
        async with connected() as conn, reads(conn) as site_reads:
            site_id = await site_id_of(site_reads, who.tenant_id, site)
            view = await site_reads.view(who.tenant_id, site_id)
            show(view)
            if not follow:
                return 0
            canary = view.site.canary.release if view.site.canary else None
            view = await follow_canary(conn, site_reads, who.tenant_id, site_id, view, show)
            if canary is None:
                return 0
            return 0 if view.site.stable == canary else 1

    def show(view: SiteView) -> None:
        if as_json:
            console.print(json_text(releases_json(view)), markup=False)
        else:
            print_view(view)

    raise typer.Exit(run(main()))


async def follow_canary(
    conn: Connected,
    site_reads: SiteReads,
    tenant: str,
    site_id: UUID,
    view: SiteView,
    show: Any,
) -> SiteView:
    """Redraw on each of the site's events until no canary runs; the view at the end."""
    changed = asyncio.Event()

    async def poke(_: Any) -> None:
        changed.set()

    sub = await conn.nc.subscribe(subjects.job_events(tenant, site_id), cb=poke)
    try:
        while view.site.canary is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), RESYNC_SECONDS)
            changed.clear()
            now = await site_reads.view(tenant, site_id)
            if now.site.version != view.site.version:
                view = now
                show(view)
    finally:
        await sub.unsubscribe()
    return view


Decide = Callable[[SiteReads, Caller, str, str], Awaitable[Acted]]
Asked = type[cmd.PromoteRelease] | type[cmd.RollBackRelease]


def _decide(
    release: str, reason: str, tenant: str | None, user: str | None, asked: Asked, act: Decide
) -> None:
    """One of the sites' one-click decisions (``SiteReads.promote``, ``.roll_back``): the
    reason checked by its contract, as the API does (inside ``run``: exit 2 when bad)."""

    async def main() -> None:
        who = caller(tenant, user)
        note = asked(reason=reason).reason
        async with connected() as conn, reads(conn) as site_reads:
            acted = await act(site_reads, who, release, note)
        shown = acted.view.release_json(release)
        edge = "served now" if acted.followed else "no deployer answered: the edge follows soon"
        console.print(
            f"{release}: {shown['state']}, {percent(shown['traffic_percent'])} of traffic ({edge})",
            markup=False,
        )
        print_view(acted.view)

    run(main())


Reason = Annotated[str, typer.Option(help="why, for the log")]


@app.command()
def promote(
    release: Annotated[str, typer.Argument(help="a release's name (r-...)")],
    reason: Reason = "",
    tenant: Tenant = None,
    user: User = None,
) -> None:
    """Serve RELEASE at the site's production URL (nothing is rebuilt)."""
    _decide(release, reason, tenant, user, cmd.PromoteRelease, SiteReads.promote)


@app.command()
def rollback(
    release: Annotated[str, typer.Argument(help="a release's name (r-...)")],
    reason: Reason = "",
    tenant: Tenant = None,
    user: User = None,
) -> None:
    """Take RELEASE out: a canary stops getting traffic, a serving one gives way to the one
    before it."""
    _decide(release, reason, tenant, user, cmd.RollBackRelease, SiteReads.roll_back)
