"""Merge requests on the local git host (``tests/git_host_api.py``) as GitLab documents them.

- "Create MR" (docs.gitlab.com/ee/api/merge_requests.html#create-mr): ``POST /api/v4/projects/
  :id/merge_requests``, ``:id`` the URL-encoded ``owner/repo``, with ``source_branch``,
  ``target_branch``, ``title`` (``description`` optional); ``PRIVATE-TOKEN: <token>`` (401
  ``{"message": "401 Unauthorized"}`` otherwise); 201 with ``iid`` and ``web_url``
  (``<host>/<owner>/<repo>/-/merge_requests/<iid>``); 409 ``{"message": ["Another open merge
  request already exists for this source branch: !<iid>"]}``; 404 for an unknown project.
- "List project merge requests": ``GET .../merge_requests?state=opened&source_branch=``.
- "Get a single project" (docs.gitlab.com/ee/api/projects.html): ``GET /api/v4/projects/:id``
  with ``default_branch``.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, unquote

from tests.git_host_pulls import Pull, has_branch

PATH = re.compile(r"^/api/v4/projects/(?P<id>[^/?]+)(?P<rest>/merge_requests)?(?:\?(?P<q>.*))?$")


def view(url: str, pull: Pull) -> dict[str, Any]:
    return {
        "iid": pull.number,
        "title": pull.title,
        "description": pull.body,
        "state": "opened" if pull.state == "open" else pull.state,
        "source_branch": pull.head,
        "target_branch": pull.base,
        "web_url": f"{url}/{pull.full_name}/-/merge_requests/{pull.number}",
    }


def answer(host: Any, method: str, path: str, headers: dict[str, str], raw: bytes) -> Any:
    found = PATH.match(path)
    if found is None:
        return 404, {"message": "404 Not Found"}
    if not secrets.compare_digest(headers.get("private-token", ""), host.token):
        return 401, {"message": "401 Unauthorized"}
    full = unquote(found["id"])
    if full not in host.repos:
        return 404, {"message": "404 Project Not Found"}
    mine = [p for p in host.pulls if p.full_name == full]
    if found["rest"] is None:
        return 200, {"path_with_namespace": full, "default_branch": host.repos[full]}
    if method == "GET":
        asked = parse_qs(found["q"] or "")
        branch = asked.get("source_branch", [""])[0]
        state = asked.get("state", ["opened"])[0]
        return 200, [
            view(host.url, p)
            for p in mine
            if (not branch or p.head == branch) and (state == "all" or p.state == "open")
        ]
    try:
        wanted = json.loads(raw)
        head, base, title = wanted["source_branch"], wanted["target_branch"], wanted["title"]
    except (ValueError, KeyError, TypeError):
        return 400, {"message": "400 Bad request - source_branch, target_branch, title missing"}
    if not has_branch(host.git_root, full, head) or not has_branch(host.git_root, full, base):
        return 404, {"message": "404 Branch Not Found"}
    for p in mine:
        if (p.head, p.base, p.state) == (head, base, "open"):
            said = f"Another open merge request already exists for this source branch: !{p.number}"
            return 409, {"message": [said]}
    body = wanted.get("description") or ""
    pull = Pull("gitlab", full, len(host.pulls) + 1, title, head, base, body)
    host.pulls.append(pull)
    return 201, view(host.url, pull)
