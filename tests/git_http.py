"""A real git server over HTTP for clone tests (git's "dumb" protocol: static files of a bare
repository), on a loopback address, counting the requests it gets; or one that only redirects.

Both are internal hosts: a test that clones from them must allow them explicitly
(``BDG_CLONE_ALLOW_HOSTS``), as an operator with a LAN git server does.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
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
