"""Netlify through its REST API (docs.netlify.com, "Get started with the Netlify API").

- "Deploy with the API" / file digest method: ``POST /api/v1/sites/{site_id}/deploys`` with
  ``files`` (``{"/path": sha1}``) and ``draft: true`` (a deploy with its own URL that does not
  serve production); the answer's ``required`` lists the sha1s Netlify lacks, each uploaded once
  with ``PUT /api/v1/deploys/{deploy_id}/files/{path}`` (``application/octet-stream``, path
  segments URL-encoded). ``GET /api/v1/deploys/{deploy_id}`` is polled until ``ready``.
- Publish and rollback: "Restore deploy", ``POST /api/v1/sites/{site_id}/deploys/{deploy_id}/
  restore``, which makes any earlier or draft deploy the published one (no rebuild).
- What serves production: "Get site", ``GET /api/v1/sites/{site_id}``, ``published_deploy``.
- Split testing splits traffic between git branches ("Split Testing", ``traffic_splits``); a
  file-digest deploy is no branch, so no canary here: the deployer promotes after the preview's
  check instead.
- Errors are ``{"code": 401, "message": "..."}``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bdg_contracts.release_events import CanaryStage, ReleaseCounts
from bdg_deployer.providers.base import Capabilities, ProviderError, Published, RunningCanary
from bdg_deployer.providers.files import ArtifactFiles, sha1_of
from bdg_deployer.providers.http import UPLOADS_AT_ONCE, ProviderApi, at_most

NAME = "netlify"
API = "https://api.netlify.com"
FAILED_STATES = ("error", "rejected")


def message_of(body: Any) -> str:
    return str(body["message"])


@dataclass(frozen=True)
class NetlifySite:
    site_id: str


class NetlifyTarget:
    capabilities = Capabilities(
        preview=True, aliases=False, instant_rollback=True, canary=False, split_testing=False
    )

    def __init__(
        self, api: ProviderApi, site: NetlifySite, poll_s: float = 1.0, polls: int = 600
    ) -> None:
        self.api, self.site, self.poll_s, self.polls = api, site, poll_s, polls

    @property
    def name(self) -> str:
        return NAME

    def _site(self, rest: str) -> str:
        return f"/api/v1/sites/{quote(self.site.site_id, safe='')}/{rest}"

    async def publish(self, release: str, files: ArtifactFiles, site: str = "") -> Published:
        contents = {f.path: files.content(f) for f in files}
        digests = {f"/{path}": sha1_of(content) for path, content in contents.items()}
        body = {"files": digests, "draft": True, "title": release}
        deploy = (await self.api.call("POST", self._site("deploys"), json=body)).json()
        required = set(deploy.get("required") or [])
        uploads = []
        for path, content in contents.items():
            sha = digests[f"/{path}"]
            if sha in required:
                required.discard(sha)  # the same content under two paths is uploaded once
                uploads.append(self._upload(deploy["id"], path, content))
        await at_most(UPLOADS_AT_ONCE, uploads)
        deploy = await self._ready(deploy)
        url = deploy.get("deploy_ssl_url") or deploy.get("deploy_url") or ""
        return Published(str(deploy["id"]), f"{str(url).rstrip('/')}/")

    async def _upload(self, deploy_id: str, path: str, content: bytes) -> None:
        await self.api.call(
            "PUT",
            f"/api/v1/deploys/{deploy_id}/files/{quote(path)}",
            content=content,
            headers={"content-type": "application/octet-stream"},
        )

    async def _ready(self, deploy: dict[str, Any]) -> dict[str, Any]:
        for _ in range(self.polls):
            deploy = (await self.api.call("GET", f"/api/v1/deploys/{deploy['id']}")).json()
            if deploy.get("state") == "ready":
                return deploy
            if deploy.get("state") in FAILED_STATES:
                said = deploy.get("error_message") or deploy["state"]
                raise ProviderError(NAME, None, f"deploy {deploy['id']}: {said}")
            await asyncio.sleep(self.poll_s)  # Netlify processes uploads: poll
        raise ProviderError(NAME, None, f"deploy {deploy['id']} never became ready")

    async def _restore(self, deploy_id: str) -> None:
        await self.api.call("POST", self._site(f"deploys/{quote(deploy_id, safe='')}/restore"))

    async def promote(self, deployment_id: str, canary: bool = False) -> None:
        await self._restore(deployment_id)

    async def roll_back(self, to_deployment_id: str) -> None:
        await self._restore(to_deployment_id)

    async def start_canary(self, deployment_id: str, stages: Sequence[CanaryStage]) -> None:
        raise ProviderError(NAME, None, "file-digest deploys have no canary on Netlify")

    async def advance_canary(self, deployment_id: str, stage: int) -> None:
        raise ProviderError(NAME, None, "file-digest deploys have no canary on Netlify")

    async def canary_now(self) -> RunningCanary | None:
        """Netlify runs no canary here (split tests are by git branch)."""
        return None

    async def serving(self) -> str | None:
        """ "Get site", ``GET /api/v1/sites/{site_id}``: ``published_deploy.id``."""
        site = (await self.api.call("GET", self._site("").rstrip("/"))).json()
        published = site.get("published_deploy") or {}
        return str(published["id"]) if published.get("id") else None

    async def counts(self, deployment_ids: dict[str, str]) -> dict[str, ReleaseCounts]:
        return {}  # Netlify reports no per-deploy errors: the client beacon is the source
