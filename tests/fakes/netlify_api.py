"""A local Netlify REST API: the endpoints the Netlify provider uses, as documented in "Get
started with the Netlify API" (docs.netlify.com) and its OpenAPI reference, with Netlify's error
body ``{"code", "message"}``.

- "Deploy with the API", file digest method: ``POST /api/v1/sites/{site_id}/deploys`` with
  ``files`` (``{"/path": sha1}``) answers the deploy in state ``uploading`` with ``required``
  (the sha1s not stored yet) and its ``deploy_ssl_url``; ``PUT /api/v1/deploys/{id}/files/{path}``
  stores a file, refused unless the path is in the deploy and its sha1 matches; the deploy is
  ``ready`` once nothing is required (``GET /api/v1/deploys/{id}``).
- "Get site": ``GET /api/v1/sites/{site_id}`` with its ``published_deploy``.
- "Restore deploy": ``POST /api/v1/sites/{site_id}/deploys/{deploy_id}/restore`` publishes it.
A bearer token other than ``token`` is ``401`` ("Access Denied: ...").
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from tests.fakes.http_fake import Answer, FakeApi, Request


def error(status: int, message: str) -> Answer:
    return Answer(status, {"code": status, "message": message})


@dataclass
class FakeNetlify:
    site_id: str = "site-0b5c"
    token: str = "netlify-test-token"
    api: FakeApi = field(default_factory=FakeApi)
    blobs: dict[str, bytes] = field(default_factory=dict)
    deploys: dict[str, dict[str, Any]] = field(default_factory=dict)
    published: str | None = None
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        a = self.api
        a.route("POST", "/api/v1/sites/([^/]+)/deploys", self._authed(self._create))
        a.route("PUT", "/api/v1/deploys/([^/]+)/files/(.+)", self._authed(self._upload))
        a.route("GET", "/api/v1/deploys/([^/]+)", self._authed(self._get))
        a.route("GET", "/api/v1/sites/([^/]+)", self._authed(self._site))
        restore = "/api/v1/sites/([^/]+)/deploys/([^/]+)/restore"
        a.route("POST", restore, self._authed(self._restore))
        a.start()

    def _authed(self, route: Any) -> Any:
        def handle(request: Request, found: re.Match[str]) -> Answer:
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return error(401, "Access Denied: your session has expired or is invalid")
            return route(request, found)  # type: ignore[no-any-return]

        return handle

    def _view(self, deploy: dict[str, Any]) -> dict[str, Any]:
        required = sorted({s for s in deploy["files"].values() if s not in self.blobs})
        state = deploy["state"] if required else "ready"
        deploy["state"] = state
        return {
            "id": deploy["id"],
            "site_id": self.site_id,
            "state": state,
            "required": required,
            "draft": deploy["draft"],
            "deploy_ssl_url": f"https://{deploy['id']}--{self.site_id}.netlify.app",
        }

    def _create(self, request: Request, found: re.Match[str]) -> Answer:
        if found[1] != self.site_id:
            return error(404, "Not Found")
        body = request.json()
        files = body.get("files")
        if not isinstance(files, dict) or not all(p.startswith("/") for p in files):
            return error(422, "files must map /paths to sha1s")
        deploy_id = f"{next(self.ids):024x}"
        self.deploys[deploy_id] = {
            "id": deploy_id,
            "files": files,
            "state": "uploading",
            "draft": bool(body.get("draft")),
            "content": {},
        }
        return Answer(200, self._view(self.deploys[deploy_id]))

    def _upload(self, request: Request, found: re.Match[str]) -> Answer:
        deploy = self.deploys.get(found[1])
        path = "/" + unquote(found[2])
        if deploy is None or path not in deploy["files"]:
            return error(404, "Not Found")
        if request.headers.get("content-type") != "application/octet-stream":
            return error(422, "Content-Type must be application/octet-stream")
        sha = hashlib.sha1(request.body).hexdigest()
        if sha != deploy["files"][path]:
            return error(422, f"{path}: the content's sha1 is not the deploy's")
        self.blobs[sha] = request.body
        return Answer(200, {"id": sha, "path": path, "sha": sha, "size": len(request.body)})

    def _get(self, _: Request, found: re.Match[str]) -> Answer:
        deploy = self.deploys.get(found[1])
        return Answer(200, self._view(deploy)) if deploy else error(404, "Not Found")

    def _site(self, _: Request, found: re.Match[str]) -> Answer:
        if found[1] != self.site_id:
            return error(404, "Not Found")
        published = self._view(self.deploys[self.published]) if self.published else None
        return Answer(200, {"id": self.site_id, "published_deploy": published})

    def _restore(self, _: Request, found: re.Match[str]) -> Answer:
        deploy = self.deploys.get(found[2])
        if found[1] != self.site_id or deploy is None:
            return error(404, "Not Found")
        if self._view(deploy)["state"] != "ready":
            return error(422, "the deploy is not ready")
        self.published = deploy["id"]
        return Answer(200, self._view(deploy))

    def served(self) -> dict[str, bytes]:
        """What the published deploy serves, path by path."""
        assert self.published is not None
        files = self.deploys[self.published]["files"]
        return {p.removeprefix("/"): self.blobs[s] for p, s in files.items()}

    @property
    def url(self) -> str:
        return self.api.url

    def stop(self) -> None:
        self.api.stop()
