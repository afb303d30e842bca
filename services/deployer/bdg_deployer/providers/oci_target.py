"""Docker Hub, or any registry speaking the Registry HTTP API v2, as a deploy provider ("oci").

A release is the site's image pushed under the release's own tag (oci.py), and its deployment
id is the image's manifest digest. Production is one tag of the repository (the tenant's
``tag`` setting, default ``production``): promote points it at the release's digest, rollback
points it back at an earlier one, by putting that digest's manifest under the tag ("Pulling
manifests" by digest, then "Pushing Manifests" by tag, OCI distribution spec): nothing is
rebuilt nor uploaded again. Whatever runs the image (a server pulling ``repo:production``)
follows the tag. No canary: a registry has no traffic to split.

The registry is the operator's (``BDG_OCI_REGISTRY``, Docker Hub by default); the tenant names
only its repository, tag, username and access token (``PUT /deploy/credentials/oci``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from bdg_contracts.release_events import CanaryStage, ReleaseCounts
from bdg_deployer.artifacts import ArtifactError
from bdg_deployer.providers.base import (
    Capabilities,
    ProviderAuthError,
    ProviderError,
    Published,
    RunningCanary,
)
from bdg_deployer.providers.files import ArtifactFiles
from bdg_deployer.providers.oci import (
    DOCKER_HUB,
    ImageTarget,
    Registry,
    RegistryError,
    SiteArtifact,
    push_site_image,
)
from bdg_deployer.providers.oci_auth import RegistryAuth, RegistryAuthError
from bdg_deployer.providers.oci_image import ServerBinaryError

NAME = "oci"
API = DOCKER_HUB
SERVER = Path("/bin/busybox")  # busybox-static: the image's web server (oci_image.py)


@dataclass(frozen=True)
class OciRepository:
    repo: str  # e.g. "acme/shop" (on Docker Hub: <namespace>/<repository>)
    tag: str = "production"  # the tag production is
    username: str = ""


class OciTarget:
    capabilities = Capabilities(
        preview=True, aliases=True, instant_rollback=True, canary=False, split_testing=False
    )

    def __init__(
        self, registry: str, repository: OciRepository, token: str, server: Path = SERVER
    ) -> None:
        self.registry, self.repository, self.server = registry.rstrip("/"), repository, server
        self._auth = RegistryAuth(repository.username, SecretStr(token)) if token else None
        # Checked before any request: the grammar of names and tags (oci.py).
        self.production = self._target(repository.tag)

    def __repr__(self) -> str:  # never the token
        return f"OciTarget({self.registry!r}, {self.repository!r})"

    @property
    def name(self) -> str:
        return NAME

    def _target(self, tag: str) -> ImageTarget:
        try:
            return ImageTarget(self.repository.repo, tag, self.registry)
        except ValueError as error:
            raise ProviderError(NAME, None, str(error)) from error

    def reference(self, digest: str) -> str:
        """Where an image is: ``<registry host>/<repo>@<digest>``, what ``docker pull`` takes."""
        host = urlsplit(self.registry).netloc
        host = "docker.io" if self.registry == DOCKER_HUB else host
        return f"{host}/{self.repository.repo}@{digest}"

    async def publish(self, release: str, files: ArtifactFiles, site: str = "") -> Published:
        target = self._target(release)
        artifact = SiteArtifact(files.store, files.manifest.digest)
        async with _refusals():
            digest = await push_site_image(artifact, target, self._auth, self.server)
        return Published(digest, self.reference(digest))

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[Registry]:
        async with _refusals(), httpx.AsyncClient(timeout=60) as client:
            yield Registry(client, self.production, self._auth)

    async def _point(self, digest: str) -> None:
        async with self._session() as registry:
            raw, media_type = await registry.manifest(digest)
            await registry.point(self.repository.tag, raw, media_type)

    async def promote(self, deployment_id: str, canary: bool = False) -> None:
        await self._point(deployment_id)

    async def roll_back(self, to_deployment_id: str) -> None:
        await self._point(to_deployment_id)

    async def start_canary(self, deployment_id: str, stages: Sequence[CanaryStage]) -> None:
        raise ProviderError(NAME, None, "a registry has no canary")

    async def advance_canary(self, deployment_id: str, stage: int) -> None:
        raise ProviderError(NAME, None, "a registry has no canary")

    async def serving(self) -> str | None:
        async with self._session() as registry:
            return await registry.tagged(self.repository.tag)

    async def canary_now(self) -> RunningCanary | None:
        """A registry runs no canary."""
        return None

    async def counts(self, deployment_ids: dict[str, str]) -> dict[str, ReleaseCounts]:
        """A registry serves no traffic to count."""
        return {}


@asynccontextmanager
async def _refusals() -> AsyncIterator[None]:
    """The push's and the registry's errors as the provider interface's (``DeployFailed``)."""
    try:
        yield
    except RegistryAuthError as error:
        raise ProviderAuthError(NAME, 401, str(error)) from error
    except (RegistryError, ArtifactError, ServerBinaryError) as error:
        raise ProviderError(NAME, None, str(error)) from error
    except httpx.HTTPError as error:
        raise ProviderError(NAME, None, f"registry unreachable: {error}") from error
