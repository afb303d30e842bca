"""Pull requests on the local git host (``tests/git_host_api.py``), as GitHub and Gitea say.

- GitHub "Create a pull request" (docs.github.com/en/rest/pulls/pulls#create-a-pull-request):
  ``POST /repos/{owner}/{repo}/pulls`` with ``title``, ``head``, ``base``, ``body``; 201 with the
  pull request (``number``, ``html_url``, ``head.ref``, ``base.ref``) and a ``Location``; 422
  "Validation Failed" with ``errors`` when the head is no branch of the repository
  (``{"resource": "PullRequest", "field": "head", "code": "invalid"}``) or one is open for it
  already (``{"resource": "PullRequest", "code": "custom", "message": "A pull request already
  exists for <owner>:<branch>."}``). "List pull requests": ``GET .../pulls?state=open&head=
  <owner>:<branch>``. "Get a repository": ``GET /repos/{owner}/{repo}`` with ``default_branch``.
- Gitea ``repoCreatePullRequest`` / ``repoListPullRequests`` / ``repoGet`` (``/api/swagger``;
  routers/api/v1/repo/pull.go): the same paths under ``/api/v1``; 409 Conflict "pull request
  already exists for these targets"; 404 when the head is no branch; ``html_url`` is
  ``<host>/<owner>/<repo>/pulls/<n>``.

Branches are read from the real bare repositories a smart HTTP git server serves
(``tests/git_http.py``), so a pull request names only what was really pushed.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

Answer = tuple[int, Any]


@dataclass(frozen=True)
class Pull:
    provider: str
    full_name: str
    number: int
    title: str
    head: str
    base: str
    body: str
    state: str = "open"


def has_branch(git_root: Path | None, full: str, branch: str) -> bool:
    if git_root is None:
        return True
    done = subprocess.run(
        ["git", "--git-dir", str(git_root / f"{full}.git"), "rev-parse", "--verify", "-q",
         f"refs/heads/{branch}"],
        capture_output=True, check=False,
    )  # fmt: skip
    return done.returncode == 0


def view(url: str, gitea: bool, pull: Pull) -> dict[str, Any]:
    prefix = "/api/v1" if gitea else ""
    kind = "pulls" if gitea else "pull"
    return {
        "id": pull.number,
        "number": pull.number,
        "state": pull.state,
        "title": pull.title,
        "body": pull.body,
        "url": f"{url}{prefix}/repos/{pull.full_name}/pulls/{pull.number}",
        "html_url": f"{url}/{pull.full_name}/{kind}/{pull.number}",
        "head": {"ref": pull.head, "label": f"{pull.full_name.split('/')[0]}:{pull.head}"},
        "base": {"ref": pull.base},
    }


def create(host: Any, gitea: bool, full: str, raw: bytes, git_root: Path | None) -> Answer:
    try:
        wanted = json.loads(raw)
        title, head, base = wanted["title"], wanted["head"], wanted["base"]
        body = wanted.get("body") or ""
    except (ValueError, KeyError, TypeError):
        return 422, {"message": "Validation Failed"}
    if not all(isinstance(x, str) and x for x in (title, head, base)) or not isinstance(body, str):
        return 422, {"message": "Validation Failed"}
    if not has_branch(git_root, full, head) or not has_branch(git_root, full, base):
        if gitea:
            return 404, {"message": "GetRefCommitID", "url": f"{host.url}/api/swagger"}
        error = {"resource": "PullRequest", "field": "head", "code": "invalid"}
        return 422, {"message": "Validation Failed", "errors": [error]}
    for pull in host.pulls:
        if (pull.full_name, pull.head, pull.base, pull.state) == (full, head, base, "open"):
            if gitea:
                said = f"pull request already exists for these targets [head_branch: {head}]"
                return 409, {"message": said, "url": f"{host.url}/api/swagger"}
            owner = full.split("/")[0]
            said = f"A pull request already exists for {owner}:{head}."
            error = {"resource": "PullRequest", "code": "custom", "message": said}
            return 422, {"message": "Validation Failed", "errors": [error]}
    pull = Pull("gitea" if gitea else "github", full, len(host.pulls) + 1, title, head, base, body)
    host.pulls.append(pull)
    return 201, view(host.url, gitea, pull)


def listing(host: Any, gitea: bool, full: str, query: str) -> Answer:
    asked = parse_qs(query)
    state = asked.get("state", ["open"])[0]
    head = asked.get("head", [""])[0] if not gitea else ""  # GitHub: "<owner>:<branch>"
    found = [
        view(host.url, gitea, p)
        for p in host.pulls
        if p.full_name == full
        and (state == "all" or p.state == state)
        and (not head or f"{full.split('/')[0]}:{p.head}" == head)
    ]
    return 200, found
