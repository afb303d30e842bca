"""A local Vercel REST API: the endpoints the Vercel provider uses, as documented at
vercel.com/docs/rest-api (sections named per route), with Vercel's error body
``{"error": {"code", "message"}}``.

- Deployments / "Upload Deployment Files": ``POST /v2/files``; ``x-vercel-digest`` must be the
  body's sha1 and ``Content-Length`` its size; 200 with an empty body.
- Deployments / "Create a new deployment": ``POST /v13/deployments``; every ``files[].sha`` not
  uploaded yet makes it ``400 missing_files`` with ``missing``; else a deployment ``QUEUED``.
- Deployments / "Get a deployment by ID or URL": ``GET /v13/deployments/{id}``; each read moves
  ``QUEUED -> BUILDING -> READY``.
- Aliases / "Assign an Alias": ``POST /v2/deployments/{id}/aliases``.
- Projects / "Find a project by id or name": ``GET /v9/projects/{idOrName}``, with
  ``targets.production`` the deployment serving production.
- Projects / "Point production traffic to a given deployment":
  ``POST /v10/projects/{projectId}/promote/{deploymentId}`` (201).
- Projects / "Point production traffic to a previous production deployment by ID":
  ``POST /v1/projects/{projectId}/rollback/{deploymentId}`` (201; 409 when it never served
  production); it aborts an active rolling release.
- Rolling Release: ``PATCH /v1/projects/{idOrName}/rolling-release/config``, ``POST .../start``
  (``canaryDeploymentId``), ``.../approve-stage`` (``nextStageIndex``, ``canaryDeploymentId``),
  ``.../complete`` (``canaryDeploymentId``); "Get the active rolling release information for a
  project", ``GET /v1/projects/{idOrName}/rolling-release``: ``{"rollingRelease": null}`` before
  any, else its ``state`` (ACTIVE, COMPLETE, ABORTED), ``currentDeployment``,
  ``canaryDeployment`` and ``activeStage`` (``index``, ``targetPercentage``), whatever its state.
A bearer token other than ``token`` is ``401`` ("The request is not authorized").
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.http_fake import Answer, FakeApi, Request


def error(status: int, code: str, message: str, **extra: Any) -> Answer:
    return Answer(status, {"error": {"code": code, "message": message, **extra}})


@dataclass
class Rolling:
    canary: str
    stage: int
    state: str = "ACTIVE"
    current: str | None = None  # what served production when it started


@dataclass
class FakeVercel:
    token: str = "vercel-test-token"
    api: FakeApi = field(default_factory=FakeApi)
    files: dict[str, bytes] = field(default_factory=dict)
    deployments: dict[str, dict[str, Any]] = field(default_factory=dict)
    production: str | None = None
    served: list[str] = field(default_factory=list)  # production deployments, in order
    aliases: dict[str, str] = field(default_factory=dict)
    config: dict[str, Any] | None = None
    rolling: Rolling | None = None
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        a = self.api
        a.route("POST", "/v2/files", self._authed(self._upload))
        a.route("POST", "/v13/deployments", self._authed(self._create))
        a.route("GET", "/v13/deployments/([^/]+)", self._authed(self._get))
        a.route("POST", "/v2/deployments/([^/]+)/aliases", self._authed(self._alias))
        a.route("GET", "/v9/projects/([^/]+)", self._authed(self._project))
        a.route("POST", "/v10/projects/([^/]+)/promote/([^/]+)", self._authed(self._promote))
        a.route("POST", "/v1/projects/([^/]+)/rollback/([^/]+)", self._authed(self._rollback))
        rr = "/v1/projects/([^/]+)/rolling-release"
        a.route("GET", rr, self._authed(self._rolling))
        a.route("PATCH", f"{rr}/config", self._authed(self._config))
        a.route("POST", f"{rr}/start", self._authed(self._start))
        a.route("POST", f"{rr}/approve-stage", self._authed(self._approve))
        a.route("POST", f"{rr}/complete", self._authed(self._complete))
        a.start()

    def _authed(self, route: Any) -> Any:
        def handle(request: Request, found: re.Match[str]) -> Answer:
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return error(401, "forbidden", "The request is not authorized.")
            return route(request, found)  # type: ignore[no-any-return]

        return handle

    def _upload(self, request: Request, _: re.Match[str]) -> Answer:
        digest = request.headers.get("x-vercel-digest", "")
        if hashlib.sha1(request.body).hexdigest() != digest:
            return error(400, "incorrect_file_digest", "The file's sha1 is not x-vercel-digest")
        if int(request.headers.get("content-length", -1)) != len(request.body):
            return error(400, "incorrect_file_size", "Content-Length is not the file's size")
        self.files[digest] = request.body
        return Answer(200)

    def _create(self, request: Request, _: re.Match[str]) -> Answer:
        body = request.json()
        if not body.get("name") or not isinstance(body.get("files"), list):
            return error(400, "bad_request", "name and files are required")
        missing = [f["sha"] for f in body["files"] if f["sha"] not in self.files]
        if missing:
            return error(400, "missing_files", "Missing files", missing=missing)
        n = next(self.ids)
        deployment = {
            "id": f"dpl_{n:06d}",
            "url": f"{body['name']}-{n}.vercel.app",
            "readyState": "QUEUED",
            "files": {f["file"]: self.files[f["sha"]] for f in body["files"]},
        }
        self.deployments[deployment["id"]] = deployment
        return Answer(200, self._view(deployment))

    def _view(self, deployment: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in deployment.items() if k != "files"}

    def _get(self, _: Request, found: re.Match[str]) -> Answer:
        deployment = self.deployments.get(found[1])
        if deployment is None:
            return error(404, "not_found", "Deployment not found")
        following = {"QUEUED": "BUILDING", "BUILDING": "READY"}
        deployment["readyState"] = following.get(deployment["readyState"], "READY")
        return Answer(200, self._view(deployment))

    def _alias(self, request: Request, found: re.Match[str]) -> Answer:
        if found[1] not in self.deployments:
            return error(404, "not_found", "Deployment not found")
        alias = request.json()["alias"]
        self.aliases[alias] = found[1]
        return Answer(200, {"uid": f"alias_{len(self.aliases)}", "alias": alias, "created": 0})

    def _serve(self, deployment: str) -> None:
        self.production = deployment
        self.served.append(deployment)

    def _project(self, _: Request, found: re.Match[str]) -> Answer:
        production = {"id": self.production} if self.production else None
        return Answer(200, {"id": "prj_0", "name": found[1], "targets": {"production": production}})

    def _promote(self, _: Request, found: re.Match[str]) -> Answer:
        if found[2] not in self.deployments:
            return error(404, "not_found", "Deployment not found")
        self._serve(found[2])
        return Answer(201)

    def _rollback(self, _: Request, found: re.Match[str]) -> Answer:
        if found[2] not in self.served:
            return error(409, "not_production", "Only a previous production deployment")
        if self.rolling is not None and self.rolling.state == "ACTIVE":
            self.rolling.state = "ABORTED"
        self._serve(found[2])
        return Answer(201)

    def _config(self, request: Request, _: re.Match[str]) -> Answer:
        config = request.json()
        stages = config.get("stages", [])
        if not stages or stages[-1].get("targetPercentage") != 100:
            return error(400, "bad_request", "the last stage must be 100")
        self.config = config
        return Answer(200, {"rollingRelease": config})

    def _start(self, request: Request, _: re.Match[str]) -> Answer:
        canary = request.json()["canaryDeploymentId"]
        if not (self.config and self.config.get("enabled")) or canary not in self.deployments:
            return error(400, "bad_request", "rolling releases are not enabled")
        active = self._active(canary)
        if active is not None:  # documented: the same canary again changes nothing
            return Answer(200, {"rollingRelease": {"state": "ACTIVE"}})
        self.rolling = Rolling(canary, 0, current=self.production)
        return Answer(200, {"rollingRelease": {"state": "ACTIVE", "currentStageIndex": 0}})

    def _rolling(self, _: Request, __: re.Match[str]) -> Answer:
        r = self.rolling
        if r is None:
            return Answer(200, {"rollingRelease": None})
        stages = (self.config or {}).get("stages", [])
        percent = stages[r.stage]["targetPercentage"] if r.stage < len(stages) else 100
        view = {
            "state": r.state,
            "currentDeployment": self._view(self.deployments[r.current]) if r.current else None,
            "canaryDeployment": self._view(self.deployments[r.canary]),
            "activeStage": {"index": r.stage, "targetPercentage": percent},
            "advancementType": (self.config or {}).get("advancementType", "manual-approval"),
        }
        return Answer(200, {"rollingRelease": view})

    def _active(self, canary: str) -> Rolling | None:
        r = self.rolling
        return r if r is not None and r.state == "ACTIVE" and r.canary == canary else None

    def _approve(self, request: Request, _: re.Match[str]) -> Answer:
        body = request.json()
        active = self._active(body["canaryDeploymentId"])
        if active is None or body["nextStageIndex"] != active.stage + 1:
            return error(400, "bad_request", "no such stage of an active rolling release")
        active.stage = body["nextStageIndex"]
        return Answer(
            200, {"rollingRelease": {"state": "ACTIVE", "currentStageIndex": active.stage}}
        )

    def _complete(self, request: Request, _: re.Match[str]) -> Answer:
        active = self._active(request.json()["canaryDeploymentId"])
        if active is None:
            return error(400, "bad_request", "no active rolling release of that deployment")
        active.state = "COMPLETE"
        self._serve(active.canary)
        return Answer(200, {"rollingRelease": {"state": "COMPLETE"}})

    @property
    def url(self) -> str:
        return self.api.url

    def stop(self) -> None:
        self.api.stop()
