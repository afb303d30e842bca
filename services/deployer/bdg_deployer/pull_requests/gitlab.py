"""Opening the job's merge request on GitLab, once (docs.gitlab.com/ee/api/merge_requests.html).

"Create MR": ``POST /projects/:id/merge_requests`` (``:id`` the URL-encoded ``owner/repo``)
with ``source_branch``, ``target_branch``, ``title``, ``description``; ``PRIVATE-TOKEN:
<token>``; 201 with ``web_url``. One already open for the branch: 409 Conflict ("Another open
merge request already exists for this source branch"); it is then found with "List project
merge requests" (``GET /projects/:id/merge_requests?state=opened&source_branch=<branch>``). The
base when the job named none: the project's ``default_branch`` ("Get a single project",
docs.gitlab.com/ee/api/projects.html). 401/403/404 fail at once; 429 and 5xx are retried.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx

from bdg_deployer.domain import FULL_HASH
from bdg_deployer.providers.http_retry import request
from bdg_deployer.pull_requests.hosts import HostRefusedError, HostRepo


def _said(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return answer.text[:300]
    said = body.get("message", body.get("error", "")) if isinstance(body, dict) else ""
    return ("; ".join(map(str, said)) if isinstance(said, list) else str(said))[:300]


async def _call(
    http: httpx.AsyncClient,
    repo: HostRepo,
    method: str,
    path: str,
    body: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> tuple[int, Any]:
    project = quote(f"{repo.owner}/{repo.name}", safe="")
    url = f"{repo.api}/projects/{project}{path}"
    headers = {"PRIVATE-TOKEN": repo.host.token.get_secret_value()}
    content = b""
    if body is not None:
        content = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    answer = await request(http, method, url, content=content, headers=headers, params=params)
    if answer.status_code in (401, 403, 404):
        raise HostRefusedError(
            f"gitlab {answer.status_code} on {method} {path or '/'}: {_said(answer)}"
        )
    if answer.status_code >= 500 or answer.status_code == 429:
        raise RuntimeError(f"gitlab {answer.status_code}: {_said(answer)}")
    if answer.status_code >= 400:
        return answer.status_code, _said(answer)
    return answer.status_code, answer.json()


async def open_merge_request(
    http: httpx.AsyncClient, repo: HostRepo, branch: str, base: str, title: str, body: str
) -> str:
    """The URL of the job's merge request: opened now, or the one already open for the branch."""
    if base in ("", "HEAD") or FULL_HASH.match(base):
        _, project = await _call(http, repo, "GET", "")
        base = str(project.get("default_branch") or "") if isinstance(project, dict) else ""
        if not base:
            raise HostRefusedError(f"gitlab names no default branch for {repo.owner}/{repo.name}")
    wanted = {"source_branch": branch, "target_branch": base, "title": title, "description": body}
    status, answer = await _call(http, repo, "POST", "/merge_requests", wanted)
    if status == 201 and isinstance(answer, dict) and answer.get("web_url"):
        return str(answer["web_url"])
    if status == 409:
        params = {"state": "opened", "source_branch": branch}
        _, found = await _call(http, repo, "GET", "/merge_requests", params=params)
        for mr in found if isinstance(found, list) else []:
            if isinstance(mr, dict) and mr.get("source_branch") == branch and mr.get("web_url"):
                return str(mr["web_url"])
    raise HostRefusedError(f"gitlab {status} opening the merge request: {answer}")
