"""Vercel through its REST API (docs: vercel.com/docs/rest-api).

- Files by digest: the deployment is created naming every file by sha1 ("Create a new
  deployment", ``POST /v13/deployments``, ``files: [{file, sha, size}]``); Vercel answers
  ``400 missing_files`` with the digests it lacks, which are uploaded ("Upload Deployment Files",
  ``POST /v2/files`` with ``x-vercel-digest`` and ``Content-Length``) before creating it again.
- ``readyState`` is polled ("Get a deployment by ID or URL", ``GET /v13/deployments/{id}``)
  until ``READY``; ``ERROR`` or ``CANCELED`` fail the release.
- Aliases: "Assign an Alias", ``POST /v2/deployments/{id}/aliases``.
- Promote: "Point production traffic to a given deployment",
  ``POST /v10/projects/{projectId}/promote/{deploymentId}`` (no rebuild).
- Instant rollback: "Point production traffic to a previous production deployment by ID",
  ``POST /v1/projects/{projectId}/rollback/{deploymentId}``; it also ends a rolling release.
- Canary: Rolling Releases, ``PATCH /v1/projects/{idOrName}/rolling-release/config`` (stages,
  manual approval), ``POST .../rolling-release/start``, ``.../approve-stage``
  (``nextStageIndex``, ``canaryDeploymentId``) and ``.../complete``.
- What serves production: "Find a project by id or name", ``GET /v9/projects/{idOrName}``;
  the canary running: "Get the active rolling release information for a project",
  ``GET /v1/projects/{idOrName}/rolling-release`` (``state``, ``canaryDeployment.id``,
  ``activeStage.index``).
- Errors are ``{"error": {"code", "message"}}``.
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

NAME = "vercel"
API = "https://api.vercel.com"
FAILED_STATES = ("ERROR", "CANCELED")


def message_of(body: Any) -> str:
    return str(body["error"]["message"])


@dataclass(frozen=True)
class VercelProject:
    project: str  # id or name
    team_id: str = ""
    alias_suffix: str = ""  # e.g. "acme.example.com": each release at <release>.<suffix>


class VercelTarget:
    capabilities = Capabilities(
        preview=True, aliases=True, instant_rollback=True, canary=True, split_testing=False
    )

    def __init__(
        self, api: ProviderApi, project: VercelProject, poll_s: float = 1.0, polls: int = 600
    ) -> None:
        self.api, self.project, self.poll_s, self.polls = api, project, poll_s, polls

    @property
    def name(self) -> str:
        return NAME

    def _params(self) -> dict[str, str]:
        return {"teamId": self.project.team_id} if self.project.team_id else {}

    def _project_path(self, rest: str) -> str:
        return f"/v1/projects/{quote(self.project.project, safe='')}/{rest}"

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = await self.api.call(method, path, params=self._params(), **kwargs)
        return answer.json() if answer.content else None

    async def publish(self, release: str, files: ArtifactFiles, site: str = "") -> Published:
        contents = {f.path: files.content(f) for f in files}
        listed = [{"file": p, "sha": sha1_of(c), "size": len(c)} for p, c in contents.items()]
        by_sha = {sha1_of(c): c for c in contents.values()}
        body = {"name": self.project.project, "project": self.project.project, "files": listed}
        for _ in range(2):  # upload what is missing once, then create again
            answer = await self.api.call(
                "POST", "/v13/deployments", params=self._params(), json=body, expected=(400,)
            )
            if answer.status_code != 400:
                break
            error = answer.json().get("error", {})
            if error.get("code") != "missing_files":
                raise ProviderError(NAME, 400, str(error.get("message", answer.text))[:1000])
            missing = [sha for sha in error.get("missing", []) if sha in by_sha]
            await at_most(UPLOADS_AT_ONCE, (self._upload(sha, by_sha[sha]) for sha in missing))
        else:
            raise ProviderError(NAME, 400, "files still missing after upload")
        deployment = await self._ready(answer.json())
        url = f"https://{deployment['url']}/"
        if self.project.alias_suffix:
            alias = f"{release}.{self.project.alias_suffix}"
            await self._call(
                "POST", f"/v2/deployments/{deployment['id']}/aliases", json={"alias": alias}
            )
            url = f"https://{alias}/"
        return Published(str(deployment["id"]), url)

    async def _upload(self, sha: str, content: bytes) -> None:
        headers = {
            "x-vercel-digest": sha,
            "content-length": str(len(content)),
            "content-type": "application/octet-stream",
        }
        await self._call("POST", "/v2/files", headers=headers, content=content)

    async def _ready(self, deployment: dict[str, Any]) -> dict[str, Any]:
        for _ in range(self.polls):
            state = deployment.get("readyState")
            if state == "READY":
                return deployment
            if state in FAILED_STATES:
                raise ProviderError(NAME, None, f"deployment {deployment['id']} is {state}")
            await asyncio.sleep(self.poll_s)  # Vercel has no push for this: poll
            deployment = await self._call("GET", f"/v13/deployments/{deployment['id']}")
        raise ProviderError(NAME, None, f"deployment {deployment['id']} never became READY")

    async def promote(self, deployment_id: str, canary: bool = False) -> None:
        if canary:
            await self._call(
                "POST",
                self._project_path("rolling-release/complete"),
                json={"canaryDeploymentId": deployment_id},
            )
            return
        project = quote(self.project.project, safe="")
        await self._call("POST", f"/v10/projects/{project}/promote/{deployment_id}")

    async def roll_back(self, to_deployment_id: str) -> None:
        project = quote(self.project.project, safe="")
        await self._call("POST", f"/v1/projects/{project}/rollback/{to_deployment_id}")

    async def start_canary(self, deployment_id: str, stages: Sequence[CanaryStage]) -> None:
        steps = [{"targetPercentage": s.percent} for s in stages] + [{"targetPercentage": 100}]
        config = {"enabled": True, "advancementType": "manual-approval", "stages": steps}
        await self._call("PATCH", self._project_path("rolling-release/config"), json=config)
        await self._call(
            "POST",
            self._project_path("rolling-release/start"),
            json={"canaryDeploymentId": deployment_id},
        )

    async def advance_canary(self, deployment_id: str, stage: int) -> None:
        await self._call(
            "POST",
            self._project_path("rolling-release/approve-stage"),
            json={"nextStageIndex": stage, "canaryDeploymentId": deployment_id},
        )

    async def serving(self) -> str | None:
        """ "Find a project by id or name", ``GET /v9/projects/{idOrName}``:
        ``targets.production.id``."""
        project = await self._call("GET", f"/v9/projects/{quote(self.project.project, safe='')}")
        production = (project.get("targets") or {}).get("production") or {}
        return str(production["id"]) if production.get("id") else None

    async def canary_now(self) -> RunningCanary | None:
        """The project's rolling release when it is ``ACTIVE``: its canary and active stage."""
        answer = await self._call("GET", self._project_path("rolling-release"))
        rolling = (answer or {}).get("rollingRelease") or {}
        if rolling.get("state") != "ACTIVE":
            return None
        canary = (rolling.get("canaryDeployment") or {}).get("id")
        stage = (rolling.get("activeStage") or {}).get("index", 0)
        if not canary:
            raise ProviderError(NAME, 200, "an active rolling release without its canary")
        return RunningCanary(str(canary), int(stage))

    async def counts(self, deployment_ids: dict[str, str]) -> dict[str, ReleaseCounts]:
        """Vercel documents no REST endpoint for a deployment's request or error counts (its
        Observability figures are a dashboard): the deployer reads the client beacon's counts
        from the edge's collector instead (``beacon/``, ``Releasing._counts``)."""
        return {}
