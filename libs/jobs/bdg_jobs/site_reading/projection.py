"""The sites read model: ``bdg_sites`` and ``bdg_site_releases``, one row per site and release.

Each site touched by a batch is folded again from its whole history (``SiteView``): a site's log
is short next to a job's, and a fold from the start cannot drift from the aggregate. Rows are
upserted with the site's version, so a batch applied twice writes the same rows. The projector
(``projector.project``) owns the transaction and the position.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from bdg_jobs.site_reading.views import SiteView

if TYPE_CHECKING:
    from bdg_jobs.projector import EventSource
    from bdg_jobs.store import Recorded

_SITE = (
    "INSERT INTO bdg_sites (site_id, tenant, version, updated_at, site) "
    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (site_id) DO UPDATE SET "
    "version = EXCLUDED.version, updated_at = EXCLUDED.updated_at, site = EXCLUDED.site"
)
_RELEASE = (
    "INSERT INTO bdg_site_releases (tenant, release, site_id, job_id, created_at, release_json) "
    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (tenant, release) DO UPDATE SET "
    "release_json = EXCLUDED.release_json"
)


class SitesProjection:
    name = "sites"

    def apply(
        self, conn: psycopg.Connection[Any], batch: Sequence[Recorded], source: EventSource
    ) -> None:
        touched = dict.fromkeys(r.event.job_id for r in batch if type(r.event).aggregate == "site")
        for site_id in touched:
            self.repair(conn, site_id, source)

    def reset(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute("TRUNCATE bdg_sites, bdg_site_releases")

    def forget(self) -> None:
        """Nothing is cached between batches."""

    def repair(self, conn: psycopg.Connection[Any], originator: UUID, source: EventSource) -> None:
        history = source.history(originator)
        if not history or type(history[0]).aggregate != "site":
            return
        write(conn, SiteView.of(history))


def write(conn: psycopg.Connection[Any], view: SiteView) -> None:
    site = view.site
    conn.execute(
        _SITE,
        (site.site_id, site.tenant_id, site.version, view.updated_at, Jsonb(view.site_json())),
    )
    for name in site.releases:
        conn.execute(
            _RELEASE,
            (
                site.tenant_id,
                name,
                site.site_id,
                view.job_of(name),
                view.created[name],
                Jsonb(view.release_json(name)),
            ),
        )
