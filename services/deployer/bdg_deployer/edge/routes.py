"""The route table: which release each site serves, and the canary's share. Written by the
deployer (atomically: write, then rename), read by the edge whenever the file changes.

It is a file under the state dir, so a killed edge comes back serving the last decided split,
and a killed deployer leaves traffic where its last decision put it.

Host names: ``<site>.localhost:<port>`` is a site's production URL, ``<release>.<site>.localhost
:<port>`` a release's preview (browsers and curl resolve ``*.localhost`` to the loopback).
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from bdg_contracts.release_events import NAME

BUCKETS = 10_000  # a visitor's bucket: the canary gets buckets below percent * 100
VISITOR_COOKIE = "bdg_visitor"


class Table(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SiteRoute(Table):
    tenant: str | None = None  # whose site: the deployer's canary watch finds it again
    site_id: str | None = None
    version: int | None = None  # the site's version it was written from: never replaced by older
    stable: str | None = Field(default=None, pattern=NAME)
    canary: str | None = Field(default=None, pattern=NAME)
    percent: float = Field(default=0, ge=0, le=100)
    releases: dict[str, str] = Field(default_factory=dict, description="release -> digest")

    def digest(self, release: str) -> str:
        return self.releases[release]

    def same_traffic(self, other: SiteRoute) -> bool:
        """Equal but for the version it was written from (an observation moves no traffic)."""
        return self.model_copy(update={"version": other.version}) == other


class RouteTable(Table):
    sites: dict[str, SiteRoute] = Field(default_factory=dict)

    def with_site(self, name: str, route: SiteRoute) -> RouteTable:
        return RouteTable(sites={**self.sites, name: route})


def in_canary(bucket: int, percent: float) -> bool:
    """Monotone in ``percent``: a visitor in the canary at 1% stays in it at 10%."""
    return bucket < round(percent * BUCKETS / 100)


def parse_host(host: str) -> tuple[str, str | None] | None:
    """(site, release or None) of a ``Host`` header, or None when it names no site."""
    name = host.rsplit(":", 1)[0].lower() if not host.startswith("[") else ""
    if not name.endswith(".localhost"):
        return None
    labels = name.removesuffix(".localhost").split(".")
    if len(labels) == 1:
        return labels[0], None
    if len(labels) == 2:
        return labels[1], labels[0]
    return None


def read_table(path: Path) -> RouteTable:
    if not path.exists():
        return RouteTable()
    return RouteTable.model_validate_json(path.read_bytes())


def write_table(path: Path, table: RouteTable) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".routes-")
    with os.fdopen(fd, "w") as f:
        f.write(table.model_dump_json(indent=1))
    os.replace(tmp, path)  # the edge sees the old table or the new one, never half of one


def update_site(path: Path, name: str, route: SiteRoute) -> bool:
    """Replace one site's route; a lock keeps two writers from losing each other's sites, and
    a route written from an older version of the site (a watch turn that read the site just
    before a promote) never replaces a newer one. False when it was older."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / ".routes.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        table = read_table(path)
        now = table.sites.get(name)
        if now is not None and (now.version or 0) > (route.version or now.version or 0):
            return False
        write_table(path, table.with_site(name, route))
        return True
