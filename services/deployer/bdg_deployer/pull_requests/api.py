"""Opening the job's pull (GitLab: merge) request through the host's REST API, once.

One flow for every host: the base is the repository's default branch when the job named none;
create the request; when the host answers that one is already open for the branch, find it and
answer its URL. How each host spells it is data (``DIALECTS``):

- GitHub "Create a pull request" (docs.github.com/en/rest/pulls/pulls#create-a-pull-request):
  ``POST /repos/{owner}/{repo}/pulls`` with ``{"title", "head", "base", "body"}``;
  ``Authorization: Bearer <token>``, ``Accept: application/vnd.github+json``,
  ``X-GitHub-Api-Version: 2022-11-28``; 201 with ``html_url``. One already open for the branch:
  422 "Validation Failed"; it is then found with "List pull requests"
  (``GET /repos/{owner}/{repo}/pulls?head=<owner>:<branch>&state=open``).
- Gitea ``repoCreatePullRequest`` (the API's swagger, ``/api/swagger``): ``POST
  /repos/{owner}/{repo}/pulls``, the same body, ``Authorization: token <token>``; 201; one
  already open: 409 Conflict; found with ``repoListPullRequests`` (``?state=open``).
- GitLab "Create MR" (docs.gitlab.com/ee/api/merge_requests.html): ``POST
  /projects/:id/merge_requests`` (``:id`` the URL-encoded ``owner/repo``) with
  ``source_branch``, ``target_branch``, ``title``, ``description``; ``PRIVATE-TOKEN: <token>``;
  201 with ``web_url``. One already open: 409 Conflict ("Another open merge request already
  exists for this source branch"); found with "List project merge requests"
  (``GET /projects/:id/merge_requests?state=opened&source_branch=<branch>``).
- The default branch: ``default_branch`` of GitHub "Get a repository", Gitea ``repoGet``
  (``GET /repos/{owner}/{repo}``), GitLab "Get a single project"
  (docs.gitlab.com/ee/api/projects.html, ``GET /projects/:id``).

401, 403 and 404 fail at once with the host's message; 429 and 5xx are retried (http_retry.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

import httpx

from bdg_deployer.domain import FULL_HASH
from bdg_deployer.providers.http_retry import request
from bdg_deployer.pull_requests.hosts import HostRefusedError, HostRepo


@dataclass(frozen=True)
class Dialect:
    """How one host's API spells the same requests, as data."""

    noun: str  # what the host calls the request
    repo_path: str  # of the repository's resource: {owner}, {name}, {project} (owner%2Fname)
    auth: tuple[str, str]  # the token's header and its value around {token}
    headers: tuple[tuple[str, str], ...]
    requests: str  # the path, under the repository's, of its pull (merge) requests
    # the create body's names for the head branch, the base branch, the title and the text
    fields: tuple[str, str, str, str]
    url_field: str  # of the created request, and of each listed one
    already_open: int  # the status answering a second request of the same branch
    open_state: str  # the list's ``state`` filter for open requests
    head_filter: tuple[str, str] | None  # the list's filter by head branch: name, {owner} {branch}
    head_path: tuple[str, ...]  # where a listed request names its head branch


GITHUB = Dialect(
    noun="pull request",
    repo_path="/repos/{owner}/{name}",
    auth=("Authorization", "Bearer {token}"),
    headers=(("Accept", "application/vnd.github+json"), ("X-GitHub-Api-Version", "2022-11-28")),
    requests="/pulls",
    fields=("head", "base", "title", "body"),
    url_field="html_url",
    already_open=422,
    open_state="open",
    head_filter=("head", "{owner}:{branch}"),
    head_path=("head", "ref"),
)
DIALECTS = {
    "github": GITHUB,
    "gitea": replace(  # GitHub's endpoints and bodies
        GITHUB,
        auth=("Authorization", "token {token}"),
        headers=(("Accept", "application/json"),),
        already_open=409,
        head_filter=None,
    ),
    "gitlab": Dialect(
        noun="merge request",
        repo_path="/projects/{project}",
        auth=("PRIVATE-TOKEN", "{token}"),
        headers=(),
        requests="/merge_requests",
        fields=("source_branch", "target_branch", "title", "description"),
        url_field="web_url",
        already_open=409,
        open_state="opened",
        head_filter=("source_branch", "{branch}"),
        head_path=("source_branch",),
    ),
}


def _said(answer: httpx.Response) -> str:
    """The host's own words: GitHub and Gitea ``message`` (GitHub's ``errors[].message`` after
    it), GitLab ``message`` (a string or a list) or ``error``."""
    try:
        body = answer.json()
    except ValueError:
        return answer.text[:300]
    if not isinstance(body, dict):
        return ""
    said = body.get("message", body.get("error", ""))
    words = list(map(str, said)) if isinstance(said, list) else [str(said)]
    details = [e.get("message", "") for e in body.get("errors") or [] if isinstance(e, dict)]
    return "; ".join(filter(None, [*words, *map(str, details)]))[:300]


async def _call(
    http: httpx.AsyncClient,
    repo: HostRepo,
    method: str,
    path: str,
    body: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """(status, the answer's JSON) below 400, (status, the host's words) for a 4xx it may
    answer to a valid request; a refusal raises at once, a 429 or 5xx after its retries."""
    dialect = DIALECTS[repo.host.kind]
    project = quote(f"{repo.owner}/{repo.name}", safe="")
    where = dialect.repo_path.format(owner=repo.owner, name=repo.name, project=project)
    header, value = dialect.auth
    headers = {header: value.format(token=repo.host.token.get_secret_value())}
    headers |= dict(dialect.headers)
    content = b""
    if body is not None:
        content = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    url = f"{repo.api}{where}{path}"
    answer = await request(http, method, url, content=content, headers=headers, params=params)
    kind = repo.host.kind
    if answer.status_code in (401, 403, 404):
        raise HostRefusedError(
            f"{kind} {answer.status_code} on {method} {path or '/'}: {_said(answer)}"
        )
    if answer.status_code >= 500 or answer.status_code == 429:
        raise RuntimeError(f"{kind} {answer.status_code}: {_said(answer)}")
    if answer.status_code >= 400:
        return answer.status_code, _said(answer)
    return answer.status_code, answer.json() if answer.content else None


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
    dialect = DIALECTS[repo.host.kind]
    if base in ("", "HEAD") or FULL_HASH.match(base):  # no branch named: the host's default
        base = await default_branch(http, repo)
    wanted = dict(zip(dialect.fields, (branch, base, title, body), strict=True))
    status, answer = await _call(http, repo, "POST", dialect.requests, wanted)
    if status == 201 and isinstance(answer, dict) and answer.get(dialect.url_field):
        return str(answer[dialect.url_field])
    if status == dialect.already_open:
        found = await _open_for(http, repo, branch)
        if found:
            return found
    raise HostRefusedError(f"{repo.host.kind} {status} opening the {dialect.noun}: {answer}")


async def _open_for(http: httpx.AsyncClient, repo: HostRepo, branch: str) -> str | None:
    dialect = DIALECTS[repo.host.kind]
    params = {"state": dialect.open_state}
    if dialect.head_filter is not None:
        name, value = dialect.head_filter
        params[name] = value.format(owner=repo.owner, branch=branch)
    _, listed = await _call(http, repo, "GET", dialect.requests, params=params)
    for pull in listed if isinstance(listed, list) else []:
        head: Any = pull
        for key in dialect.head_path:
            head = head.get(key) if isinstance(head, dict) else None
        if head == branch and pull.get(dialect.url_field):
            return str(pull[dialect.url_field])
    return None
