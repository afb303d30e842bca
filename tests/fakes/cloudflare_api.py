"""A local Cloudflare API for Pages Direct Upload: the endpoints the Pages provider uses, as the
Cloudflare API reference (Pages > Projects, Pages > Deployments) documents them and as Wrangler's
``pages deploy`` calls the asset endpoints, with Cloudflare's envelope ``{"success", "errors",
"messages", "result"}``.

- "Get upload token": ``GET /accounts/{a}/pages/projects/{p}/upload-token`` -> ``{jwt}``.
- With that JWT as bearer: ``POST /pages/assets/check-missing`` (``hashes`` -> the missing ones),
  ``POST /pages/assets/upload`` (``[{key, value, metadata: {contentType}, base64: true}]``; the key
  must be BLAKE3 of the value and the extension, as Wrangler hashes), ``POST
  /pages/assets/upsert-hashes``.
- "Create deployment": ``POST /accounts/{a}/pages/projects/{p}/deployments``, multipart with
  ``manifest`` and ``branch``; every manifest key must be uploaded; on the production branch it
  becomes the project's ``canonical_deployment``. ``GET .../deployments/{id}``: ``latest_stage``
  ``deploy``/``success``. "Get project": ``GET /accounts/{a}/pages/projects/{p}``.
- "Rollback deployment": ``POST .../deployments/{id}/rollback``: only a production deployment
  that succeeded (else 400).
An API token other than ``token`` is ``403`` with error ``10000 Authentication error``.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import PurePosixPath
from typing import Any

from blake3 import blake3

from tests.fakes.http_fake import Answer, FakeApi, Request

PROJECT = "/accounts/([^/]+)/pages/projects/([^/]+)"


def envelope(result: Any) -> Answer:
    return Answer(200, {"success": True, "errors": [], "messages": [], "result": result})


def error(status: int, code: int, message: str) -> Answer:
    body = {"success": False, "errors": [{"code": code, "message": message}], "messages": []}
    return Answer(status, {**body, "result": None})


def form_fields(request: Request) -> dict[str, str]:
    raw = b"content-type: " + request.headers["content-type"].encode() + b"\r\n\r\n" + request.body
    message = BytesParser(policy=HTTP).parsebytes(raw)
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        fields[str(name)] = part.get_payload(decode=True).decode()
    return fields


@dataclass
class FakePages:
    account_id: str = "0123456789abcdef0123456789abcdef"
    project: str = "shop"
    branch: str = "main"
    token: str = "cloudflare-test-token"
    api: FakeApi = field(default_factory=FakeApi)
    assets: dict[str, bytes] = field(default_factory=dict)
    deployments: dict[str, dict[str, Any]] = field(default_factory=dict)
    canonical: str | None = None
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.jwt = f"jwt-for-{self.project}"
        a = self.api
        a.route("GET", f"{PROJECT}/upload-token", self._authed(self._upload_token))
        a.route("POST", "/pages/assets/check-missing", self._jwt(self._check_missing))
        a.route("POST", "/pages/assets/upload", self._jwt(self._upload))
        a.route("POST", "/pages/assets/upsert-hashes", self._jwt(lambda r, m: envelope(None)))
        a.route("POST", f"{PROJECT}/deployments", self._authed(self._create))
        a.route("GET", f"{PROJECT}/deployments/([^/]+)", self._authed(self._get))
        a.route("POST", f"{PROJECT}/deployments/([^/]+)/rollback", self._authed(self._rollback))
        a.route("GET", PROJECT, self._authed(self._project_view))
        a.start()

    def _authed(self, route: Any) -> Any:
        def handle(request: Request, found: re.Match[str]) -> Answer:
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return error(403, 10000, "Authentication error")
            if (found[1], found[2]) != (self.account_id, self.project):
                return error(404, 8000007, "Project not found")
            return route(request, found)  # type: ignore[no-any-return]

        return handle

    def _jwt(self, route: Any) -> Any:
        def handle(request: Request, found: re.Match[str]) -> Answer:
            if request.headers.get("authorization") != f"Bearer {self.jwt}":
                return error(401, 8000013, "Invalid upload JWT")
            return route(request, found)  # type: ignore[no-any-return]

        return handle

    def _upload_token(self, _: Request, __: re.Match[str]) -> Answer:
        return envelope({"jwt": self.jwt})

    def _check_missing(self, request: Request, _: re.Match[str]) -> Answer:
        return envelope([h for h in request.json()["hashes"] if h not in self.assets])

    def _upload(self, request: Request, _: re.Match[str]) -> Answer:
        for item in request.json():
            if not item.get("base64") or not item.get("metadata", {}).get("contentType"):
                return error(400, 8000096, "base64 and metadata.contentType are required")
            self.assets[item["key"]] = base64.b64decode(item["value"])
        return envelope(None)

    def _deployment(self, deployment_id: str) -> dict[str, Any]:
        d = self.deployments[deployment_id]
        return {k: v for k, v in d.items() if k != "manifest"}

    def _create(self, request: Request, _: re.Match[str]) -> Answer:
        fields = form_fields(request)
        manifest = json.loads(fields["manifest"])
        for path, key in manifest.items():
            content = self.assets.get(key)
            extension = PurePosixPath(path).suffix.removeprefix(".")
            if content is None:
                return error(400, 8000096, f"{path}: asset {key} was never uploaded")
            expected = blake3(base64.b64encode(content) + extension.encode()).hexdigest()[:32]
            if expected != key:
                return error(400, 8000096, f"{path}: {key} is not the asset's hash")
        n = next(self.ids)
        deployment_id = f"{n:08x}-0000-4000-8000-{n:012x}"
        production = fields.get("branch", self.branch) == self.branch
        self.deployments[deployment_id] = {
            "id": deployment_id,
            "url": f"https://{deployment_id[:8]}.{self.project}.pages.dev",
            "environment": "production" if production else "preview",
            "latest_stage": {"name": "deploy", "status": "active"},
            "manifest": manifest,
        }
        if production:
            self.canonical = deployment_id
        return envelope(self._deployment(deployment_id))

    def _get(self, _: Request, found: re.Match[str]) -> Answer:
        if found[3] not in self.deployments:
            return error(404, 8000009, "Deployment not found")
        self.deployments[found[3]]["latest_stage"] = {"name": "deploy", "status": "success"}
        return envelope(self._deployment(found[3]))

    def _rollback(self, _: Request, found: re.Match[str]) -> Answer:
        d = self.deployments.get(found[3])
        if (
            d is None
            or d["environment"] != "production"
            or d["latest_stage"]["status"] != "success"
        ):
            return error(
                400, 8000034, "Only successful production deployments can be rolled back to"
            )
        self.canonical = d["id"]
        return envelope(self._deployment(d["id"]))

    def _project_view(self, _: Request, __: re.Match[str]) -> Answer:
        canonical = self._deployment(self.canonical) if self.canonical else None
        return envelope(
            {
                "name": self.project,
                "production_branch": self.branch,
                "canonical_deployment": canonical,
            }
        )

    def served(self) -> dict[str, bytes]:
        assert self.canonical is not None
        manifest = self.deployments[self.canonical]["manifest"]
        return {p.removeprefix("/"): self.assets[k] for p, k in manifest.items()}

    @property
    def url(self) -> str:
        return self.api.url

    def stop(self) -> None:
        self.api.stop()
