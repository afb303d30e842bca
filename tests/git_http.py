"""A real git server over HTTP for clone tests (git's "dumb" protocol: static files of a bare
repository), on a loopback address, counting the requests it gets; or one that only redirects;
or, for push tests, git's own "smart" server (``git http-backend`` as CGI) behind HTTP Basic
credentials, as a git host asks for a token over HTTPS.

Both are internal hosts: a test that clones from them must allow them explicitly
(``BDG_CLONE_ALLOW_HOSTS``), as an operator with a LAN git server does.
"""

from __future__ import annotations

import base64
import functools
import os
import secrets
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.git_repos import git


@dataclass
class GitServer:
    host: str
    port: int
    hits: list[str] = field(default_factory=list)

    def url(self, path: str = "repo.git", host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}/{path}"


def bare_copy(repo: Path, into: Path) -> Path:
    """``into/repo.git``: a bare clone of ``repo`` that a static file server can serve."""
    bare = into / "repo.git"
    git(into, "clone", "-q", "--bare", str(repo), str(bare))
    git(bare, "update-server-info")
    return bare


@contextmanager
def serving(root: Path | None, host: str = "127.0.0.1", redirect: str = "") -> Iterator[GitServer]:
    """Serve ``root``'s files (or, with ``redirect``, answer every request with a 302 there)."""
    hits: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            if redirect:
                self.send_response(302)
                self.send_header("Location", redirect + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, format: str, *args: object) -> None:
            pass

    handler = functools.partial(Handler, directory=str(root or "/nonexistent"))
    server = ThreadingHTTPServer((host, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield GitServer(host, server.server_address[1], hits)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@dataclass
class SmartServer:
    url: str  # http://127.0.0.1:<port>: <url>/<owner>/<repo>.git
    pushes: list[str] = field(default_factory=list)  # the users whose pushes were let in
    refused: int = 0


@contextmanager
def smart_serving(
    root: Path, username: str, password: str, private: bool = False
) -> Iterator[SmartServer]:
    """Serve the bare repositories under ``root`` for fetch and push (git-http-backend(1)); a
    push (``git-receive-pack``) only for ``username``/``password`` (401 with a Basic challenge
    otherwise), a fetch for anyone (a public repository on a git host) or, ``private``, for
    the same credentials only."""
    expected = base64.b64encode(f"{username}:{password}".encode()).decode()
    state = SmartServer("")

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            scheme, _, given = self.headers.get("Authorization", "").partition(" ")
            pushing = private or "git-receive-pack" in self.path
            allowed = scheme.lower() == "basic" and secrets.compare_digest(given, expected)
            if pushing and not allowed:
                state.refused += 1
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path, _, query = self.path.partition("?")
            if path.endswith("/git-receive-pack"):
                state.pushes.append(username)
            env = {
                "PATH": os.environ["PATH"],
                "GIT_PROJECT_ROOT": str(root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REMOTE_USER": username,  # enables receive-pack for an authenticated user
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                "GIT_CONFIG_NOSYSTEM": "1",
                "HOME": str(root),
            }
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            done = subprocess.run(
                ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
            )
            head, _, payload = done.stdout.partition(b"\r\n\r\n")
            status, headers = 200, []
            for line in head.decode().split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
