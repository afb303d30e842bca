"""A local git host answering the issue-comment endpoints as GitHub and Gitea document them.

- GitHub "Create an issue comment" (docs.github.com/en/rest/issues/comments
  #create-an-issue-comment): ``POST /repos/{owner}/{repo}/issues/{issue_number}/comments``,
  body ``{"body": "..."}``; ``Authorization: Bearer <token>`` (or ``token <token>``); 201 with
  the comment and a ``Location`` header; 401 ``Bad credentials`` / ``Requires authentication``;
  404 for an unknown repository or issue; 422 ``Validation Failed`` without a string body.
- Gitea ``issueCreateComment`` (the API's swagger at ``/api/swagger``; docs.gitea.com
  "API Usage", section "Authentication"): ``POST /api/v1/repos/{owner}/{repo}/issues/{index}/
  comments``, body ``{"body": "..."}``; ``Authorization: token <token>``; 201 with the comment;
  401 without a valid token; 404 for an unknown issue; 422 without a body.

Pull requests and ``GET /repos/{owner}/{repo}`` are answered as tests/git_host_pulls.py says,
GitLab's merge requests (``/api/v4``) as tests/git_host_gitlab.py says.

A real HTTP server on a free port (a thread), so the gateway's client, headers and status
handling are exercised, not a mock.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests import git_host_gitlab, git_host_pulls
from tests.git_host_pulls import Pull

_PATH = re.compile(r"^(?P<prefix>/api/v1)?/repos/(?P<full>[^/]+/[^/]+)/issues/(?P<n>\d+)/comments$")
_REPO = re.compile(
    r"^(?P<prefix>/api/v1)?/repos/(?P<full>[^/]+/[^/?]+)(?P<rest>/pulls)?(?:\?(?P<q>.*))?$"
)


@dataclass(frozen=True)
class Comment:
    provider: str
    full_name: str
    number: int
    body: str
    headers: dict[str, str]


@dataclass
class GitHost:
    token: str
    issues: set[tuple[str, int]]  # (owner/repo, number) that exist
    comments: list[Comment] = field(default_factory=list)
    url: str = ""
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    repos: dict[str, str] = field(default_factory=dict)  # owner/repo -> its default branch
    pulls: list[Pull] = field(default_factory=list)
    git_root: Path | None = None  # where <owner>/<repo>.git are, for the branches a PR names
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    # answered first, one per request: (status, Retry-After), e.g. GitHub's secondary rate
    # limit (403 with retry-after) or a 503
    throttle: list[tuple[int, str]] = field(default_factory=list)

    @property
    def github_api(self) -> str:
        return self.url

    @property
    def gitea_api(self) -> str:
        return f"{self.url}/api/v1"

    @property
    def gitlab_api(self) -> str:
        return f"{self.url}/api/v4"

    def _refused(self, gitea: bool, headers: dict[str, str]) -> tuple[int, dict[str, Any]] | None:
        scheme, _, given = headers.get("authorization", "").partition(" ")
        schemes = ("token",) if gitea else ("bearer", "token")
        if not given:
            return 401, {"message": "token is required" if gitea else "Requires authentication"}
        if scheme.lower() not in schemes or given != self.token:
            return 401, {"message": "user does not exist" if gitea else "Bad credentials"}
        return None

    def answer_repo(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, Any]:
        self.requests.append((method, path, headers))
        if path.startswith("/api/v4/"):
            return git_host_gitlab.answer(self, method, path, headers, raw)
        found = _REPO.match(path)
        if found is None:
            return 404, {"message": "Not Found"}
        gitea, full = found["prefix"] is not None, found["full"]
        refused = self._refused(gitea, headers)
        if refused is not None:
            return refused
        if full not in self.repos:
            return 404, {"message": "Not Found"}
        if found["rest"] is None and method == "GET":
            return 200, {"full_name": full, "default_branch": self.repos[full]}
        if method == "POST":
            return git_host_pulls.create(self, gitea, full, raw, self.git_root)
        return git_host_pulls.listing(self, gitea, full, found["q"] or "")

    def answer(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        found = _PATH.match(path)
        if found is None:
            return self.answer_repo("POST", path, headers, raw)
        gitea = found["prefix"] is not None
        refused = self._refused(gitea, headers)
        if refused is not None:
            return refused
        full, number = found["full"], int(found["n"])
        if (full, number) not in self.issues:
            return 404, {"message": "Not Found" if not gitea else "issue does not exist"}
        try:
            body = json.loads(raw)["body"]
        except (ValueError, KeyError, TypeError):
            body = None
        if not isinstance(body, str) or not body:
            return 422, {"message": "Validation Failed"}
        provider = "gitea" if gitea else "github"
        self.comments.append(Comment(provider, full, number, body, headers))
        comment_id = next(self.ids)
        api = f"{self.url}{found['prefix'] or ''}/repos/{full}/issues/comments/{comment_id}"
        html = f"{self.url}/{full}/issues/{number}#issuecomment-{comment_id}"
        return 201, {"id": comment_id, "url": api, "html_url": html, "body": body}


@contextmanager
def git_host(
    token: str,
    issues: set[tuple[str, int]],
    repos: dict[str, str] | None = None,
    git_root: Path | None = None,
) -> Iterator[GitHost]:
    host = GitHost(token, issues, repos=repos or {}, git_root=git_root)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            if not self._throttled():
                self._send(*host.answer_repo("GET", self.path, headers, b""))

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            if not self._throttled():
                self._send(*host.answer(self.path, headers, raw))

        def _throttled(self) -> bool:
            if not host.throttle:
                return False
            status, after = host.throttle.pop(0)
            host.requests.append((self.command, self.path, {"throttled": str(status)}))
            said = "You have exceeded a secondary rate limit" if status == 403 else "unavailable"
            self._send(status, {"message": said}, {"Retry-After": after})
            return True

        def _send(self, status: int, payload: Any, extra: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            if status == 201 and "url" in payload:
                self.send_header("Location", payload["url"])
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    host.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield host
    finally:
        server.shutdown()
        server.server_close()
