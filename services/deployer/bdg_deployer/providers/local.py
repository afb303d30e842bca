"""The local edge as a provider: the embedded default, no account needed.

The edge reads artifacts straight from the artifact store, so publishing uploads nothing: the
release is served at its preview URL as soon as the site's route names it. Traffic follows the
site's events: ``Releasing`` writes the route table from them after every decision
(``route_of``), which is this provider's promote, rollback and canary stages, so those calls
have nothing left to do. The error-rate source is the edge's own count (server 5xx and the
client beacon).
"""

from __future__ import annotations

from collections.abc import Sequence

from bdg_contracts.release_events import CanaryStage, ReleaseCounts
from bdg_deployer.edge_client import EdgeClient
from bdg_deployer.providers.base import Capabilities, Published, RunningCanary
from bdg_deployer.providers.files import ArtifactFiles
from bdg_deployer.site_routes import preview_url

NAME = "local"


class LocalEdge:
    NAME = NAME
    capabilities = Capabilities(
        preview=True, aliases=False, instant_rollback=True, canary=True, split_testing=False
    )

    def __init__(self, client: EdgeClient, port: int) -> None:
        self.client, self.port = client, port

    @property
    def name(self) -> str:
        return NAME

    async def publish(self, release: str, files: ArtifactFiles, site: str = "") -> Published:
        return Published(release, preview_url(site, release, self.port))

    async def promote(self, deployment_id: str, canary: bool = False) -> None:
        """The route table already says so (written from the events)."""

    async def roll_back(self, to_deployment_id: str) -> None:
        """The route table already says so (written from the events)."""

    async def start_canary(self, deployment_id: str, stages: Sequence[CanaryStage]) -> None:
        """The route table already says so (written from the events)."""

    async def advance_canary(self, deployment_id: str, stage: int) -> None:
        """The route table already says so (written from the events)."""

    async def canary_now(self) -> RunningCanary | None:
        """The edge's canary is its route table, written from the events."""
        return None

    async def serving(self) -> str | None:
        return None  # the route table is rewritten from the events (canary_watch.sync_route)

    async def counts(self, deployment_ids: dict[str, str]) -> dict[str, ReleaseCounts]:
        counted = await self.client.counts()
        return {release: counted[release] for release in deployment_ids if release in counted}
