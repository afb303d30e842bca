"""Opening the job's pull request through the host's REST API, once.

- GitHub "Create a pull request" (docs.github.com/en/rest/pulls/pulls#create-a-pull-request):
  ``POST /repos/{owner}/{repo}/pulls`` with ``{"title", "head", "base", "body"}``;
  ``Authorization: Bearer <token>``, ``Accept: application/vnd.github+json``,
  ``X-GitHub-Api-Version: 2022-11-28``; 201 with ``html_url``. One already open for the branch:
  422 "Validation Failed"; it is then found with "List pull requests"
  (``GET /repos/{owner}/{repo}/pulls?head=<owner>:<branch>&state=open``).
- Gitea ``repoCreatePullRequest`` (the API's swagger, ``/api/swagger``): ``POST
  /repos/{owner}/{repo}/pulls``, the same body, ``Authorization: token <token>``; 201; one
  already open: 409 Conflict; found with ``repoListPullRequests`` (``?state=open``).
- The base when the job named none (``HEAD``): the repository's ``default_branch`` (GitHub
  "Get a repository", Gitea ``repoGet``: ``GET /repos/{owner}/{repo}``).

401 and 403 fail at once with the host's message; 429 and 5xx are retried (http_retry.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from bdg_deployer.domain import FULL_HASH
from bdg_deployer.providers.http_retry import request
from bdg_deployer.pull_requests.hosts import HostRefusedError, HostRepo


@dataclass(frozen=True)
class Dialect:
    """How one host's API differs from the other's, as data."""

    scheme: str  # of the Authorization header
    headers: tuple[tuple[str, str], ...]
    already_open: int  # the status answering a second pull request of the same branch
    head_filter: bool  # whether "List pull requests" filters by ``head=<owner>:<branch>``


DIALECTS = {
    "github": Dialect(
        "Bearer",
        (("Accept", "application/vnd.github+json"), ("X-GitHub-Api-Version", "2022-11-28")),
        already_open=422,
        head_filter=True,
    ),
    "gitea": Dialect("token", (("Accept", "application/json"),), 409, head_filter=False),
}


def _headers(repo: HostRepo) -> dict[str, str]:
    dialect = DIALECTS[repo.host.kind]
    token = repo.host.token.get_secret_value()
    return {"Authorization": f"{dialect.scheme} {token}", **dict(dialect.headers)}


def _said(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return answer.text[:300]
    if not isinstance(body, dict):
        return ""
    details = [e.get("message", "") for e in body.get("errors") or [] if isinstance(e, dict)]
    return "; ".join(filter(None, [str(body.get("message", "")), *map(str, details)]))[:300]


async def _call(
    http: httpx.AsyncClient,
    repo: HostRepo,
    method: str,
    path: str,
    body: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> tuple[int, Any]:
    url = f"{repo.api}/repos/{repo.owner}/{repo.name}{path}"
    headers = _headers(repo)
    content = b""
    if body is not None:
        content = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    answer = await request(http, method, url, content=content, headers=headers, params=params)
    if answer.status_code in (401, 403, 404):
        raise HostRefusedError(
            f"{repo.host.kind} {answer.status_code} on {method} {path or '/'}: {_said(answer)}"
        )
    if answer.status_code >= 500 or answer.status_code == 429:
        raise RuntimeError(f"{repo.host.kind} {answer.status_code}: {_said(answer)}")
    payload = answer.json() if answer.content else None
    return answer.status_code, payload if answer.status_code < 400 else _said(answer)


async def default_branch(http: httpx.AsyncClient, repo: HostRepo) -> str:
    _, body = await _call(http, repo, "GET", "")
    branch = body.get("default_branch") if isinstance(body, dict) else None
    if not isinstance(branch, str) or not branch:
        raise HostRefusedError(
            f"{repo.host.kind} names no default branch for {repo.owner}/{repo.name}"
        )
    return branch


async def open_pull_request(
    http: httpx.AsyncClient, repo: HostRepo, branch: str, base: str, title: str, body: str
) -> str:
    """The URL of the job's pull request: opened now, or the one already open for the branch."""
    if base in ("", "HEAD") or FULL_HASH.match(base):  # no branch named: the host's default
        base = await default_branch(http, repo)
    wanted = {"title": title, "head": branch, "base": base, "body": body}
    status, answer = await _call(http, repo, "POST", "/pulls", wanted)
    if status == 201 and isinstance(answer, dict) and answer.get("html_url"):
        return str(answer["html_url"])
    if status == DIALECTS[repo.host.kind].already_open:
        found = await _open_for(http, repo, branch)
        if found:
            return found
    raise HostRefusedError(f"{repo.host.kind} {status} opening the pull request: {answer}")


async def _open_for(http: httpx.AsyncClient, repo: HostRepo, branch: str) -> str | None:
    params = {"state": "open"}
    if DIALECTS[repo.host.kind].head_filter:
        params["head"] = f"{repo.owner}:{branch}"
    _, pulls = await _call(http, repo, "GET", "/pulls", params=params)
    for pull in pulls if isinstance(pulls, list) else []:
        head = pull.get("head") if isinstance(pull, dict) else None
        if isinstance(head, dict) and head.get("ref") == branch and pull.get("html_url"):
            return str(pull["html_url"])
    return None
