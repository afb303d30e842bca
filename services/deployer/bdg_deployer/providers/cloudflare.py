"""Cloudflare Pages Direct Upload through the Cloudflare API (base ``/client/v4``).

- Upload by digest, as Wrangler's ``pages deploy`` does: a project-scoped upload JWT ("Get upload
  token", ``GET /accounts/{account_id}/pages/projects/{project_name}/upload-token``), then with
  that JWT ``POST /pages/assets/check-missing`` (the keys Cloudflare lacks), ``POST
  /pages/assets/upload`` (base64 values with their content type) and ``POST
  /pages/assets/upsert-hashes``. A key is Wrangler's ``hashFile``: BLAKE3 of the base64 content
  and the extension, 32 hex digits (``files.pages_hash``).
- "Create deployment" (Pages > Deployments): ``POST /accounts/{account_id}/pages/projects/
  {project_name}/deployments``, multipart with ``manifest`` (``{"/path": key}``) and ``branch``.
  A Direct Upload deployment on the production branch serves production at once
  (``publish_is_live``); its own ``url`` is the release's preview. ``GET .../deployments/{id}``
  is polled until ``latest_stage`` is ``deploy``/``success``.
- "Rollback deployment": ``POST .../deployments/{deployment_id}/rollback`` serves an earlier
  production deployment again; it is also how an earlier release is promoted (no rebuild).
- No canary or split on Pages. Errors are ``{"success": false, "errors": [{"code", "message"}]}``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bdg_contracts.release_events import CanaryStage, ReleaseCounts
from bdg_deployer.providers.base import Capabilities, ProviderError, Published, RunningCanary
from bdg_deployer.providers.files import ArtifactFiles, pages_hash
from bdg_deployer.providers.http import ProviderApi

NAME = "cloudflare-pages"
API = "https://api.cloudflare.com/client/v4"
UPLOAD_BATCH = 50  # files per upload request, as Wrangler batches them


def message_of(body: Any) -> str:
    return "; ".join(f"{e['code']}: {e['message']}" for e in body["errors"])


@dataclass(frozen=True)
class PagesProject:
    account_id: str
    project: str
    branch: str = "main"  # the project's production branch


class PagesTarget:
    capabilities = Capabilities(
        preview=True,
        aliases=False,
        instant_rollback=True,
        canary=False,
        split_testing=False,
        publish_is_live=True,
    )

    def __init__(
        self, api: ProviderApi, project: PagesProject, poll_s: float = 1.0, polls: int = 600
    ) -> None:
        self.api, self.project, self.poll_s, self.polls = api, project, poll_s, polls

    @property
    def name(self) -> str:
        return NAME

    def _project(self, rest: str = "") -> str:
        account = quote(self.project.account_id, safe="")
        name = quote(self.project.project, safe="")
        return f"/accounts/{account}/pages/projects/{name}{rest}"

    async def _result(self, method: str, path: str, **kwargs: Any) -> Any:
        return (await self.api.call(method, path, **kwargs)).json()["result"]

    async def publish(self, release: str, files: ArtifactFiles, site: str = "") -> Published:
        contents = {f.path: files.content(f) for f in files}
        keys = {path: pages_hash(path, content) for path, content in contents.items()}
        jwt = (await self._result("GET", self._project("/upload-token")))["jwt"]
        missing = set(
            await self._result(
                "POST",
                "/pages/assets/check-missing",
                token=jwt,
                json={"hashes": sorted(set(keys.values()))},
            )
        )
        payload = []
        for path, content in contents.items():
            if keys[path] in missing:
                missing.discard(keys[path])
                kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
                payload.append(
                    {
                        "key": keys[path],
                        "value": base64.b64encode(content).decode(),
                        "metadata": {"contentType": kind},
                        "base64": True,
                    }
                )
        for start in range(0, len(payload), UPLOAD_BATCH):
            batch = payload[start : start + UPLOAD_BATCH]
            await self.api.call("POST", "/pages/assets/upload", token=jwt, json=batch)
        hashes = sorted(set(keys.values()))
        await self.api.call(
            "POST", "/pages/assets/upsert-hashes", token=jwt, json={"hashes": hashes}
        )
        form = {
            "manifest": json.dumps({f"/{p}": k for p, k in sorted(keys.items())}),
            "branch": self.project.branch,
            "commit_message": f"bdg release {release}",
        }
        created = await self._result(
            "POST", self._project("/deployments"), files={k: (None, v) for k, v in form.items()}
        )
        deployment = await self._deployed(created)
        return Published(str(deployment["id"]), f"{str(deployment['url']).rstrip('/')}/")

    async def _deployed(self, deployment: dict[str, Any]) -> dict[str, Any]:
        for _ in range(self.polls):
            stage = deployment.get("latest_stage") or {}
            if stage.get("name") == "deploy" and stage.get("status") == "success":
                return deployment
            if stage.get("status") == "failure":
                raise ProviderError(
                    NAME, None, f"deployment {deployment['id']}: {stage['name']} failed"
                )
            await asyncio.sleep(self.poll_s)  # Pages deploys asynchronously: poll
            deployment = await self._result(
                "GET", self._project(f"/deployments/{deployment['id']}")
            )
        raise ProviderError(NAME, None, f"deployment {deployment['id']} never deployed")

    async def canary_now(self) -> RunningCanary | None:
        """Cloudflare Pages has no canary."""
        return None

    async def serving(self) -> str | None:
        """ "Get project": its ``canonical_deployment``."""
        project = await self._result("GET", self._project())
        canonical = project.get("canonical_deployment") or {}
        return str(canonical["id"]) if canonical.get("id") else None

    async def promote(self, deployment_id: str, canary: bool = False) -> None:
        if await self.serving() == deployment_id:
            return  # published live already (Direct Upload on the production branch)
        await self.roll_back(deployment_id)

    async def roll_back(self, to_deployment_id: str) -> None:
        path = self._project(f"/deployments/{quote(to_deployment_id, safe='')}/rollback")
        await self.api.call("POST", path)

    async def start_canary(self, deployment_id: str, stages: Sequence[CanaryStage]) -> None:
        raise ProviderError(NAME, None, "Cloudflare Pages has no canary")

    async def advance_canary(self, deployment_id: str, stage: int) -> None:
        raise ProviderError(NAME, None, "Cloudflare Pages has no canary")

    async def counts(self, deployment_ids: dict[str, str]) -> dict[str, ReleaseCounts]:
        return {}  # per-deployment errors are not read from Cloudflare: the client beacon is
