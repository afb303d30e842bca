"""What a cloud release carries so its canary can be judged: ``/_bdg/beacon.js`` with the
release's name and key, reporting to the edge's collector at its public address.

Added beside the approved artifact's files when they are published (the artifact and its
digest stay what the user approved): only for providers that run a canary and count nothing
themselves (Vercel); the local edge serves its own script.
"""

from __future__ import annotations

from dataclasses import dataclass

from bdg_deployer.beacon.keys import release_key
from bdg_deployer.beacon.script import PATH, cloud_script

COLLECT_PATH = "/_bdg/collect"


@dataclass(frozen=True)
class CloudBeacon:
    collector: str  # where browsers post: the edge's /_bdg/collect at its public address
    secret: bytes

    def files(self, tenant: str, site_id: str, release: str) -> dict[str, bytes]:
        key = release_key(self.secret, tenant, site_id, release)
        return {PATH: cloud_script(self.collector, release, key)}


def collector_url(public: str, edge_url: str) -> str:
    """``BDG_BEACON_URL`` when set (the collector as browsers reach it), else the edge's."""
    return public.strip() or f"{edge_url.rstrip('/')}{COLLECT_PATH}"
