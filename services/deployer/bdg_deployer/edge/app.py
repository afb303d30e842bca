"""The edge's ASGI app: serve a release's files by host, split a site's traffic, count.

Every request of a site host is answered from the artifact its route names, after the artifact
was verified once in this process (each file re-hashed): a missing or altered one is refused
with a 503 that says why, and counted as that release's error, so a canary built on it is rolled
back. ``/_bdg/stats`` gives the counts per release to the deployer; ``/_bdg/beacon`` takes a
page's client errors (``window.onerror``, unhandled rejections) for the release it was served,
which ``/_bdg/beacon.js`` (the opt-in script, ``beacon/script.py``) posts. ``/_bdg/collect`` is
the same beacon for releases a cloud provider serves (``collector.py``).
"""

from __future__ import annotations

import mimetypes
import random
import secrets
import time
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bdg_deployer.artifacts import ArtifactError, ArtifactStore, Manifest
from bdg_deployer.beacon.script import edge_script
from bdg_deployer.edge.collector import Collector
from bdg_deployer.edge.counts import Counts
from bdg_deployer.edge.routes import (
    BUCKETS,
    VISITOR_COOKIE,
    RouteTable,
    SiteRoute,
    in_canary,
    parse_host,
    read_table,
)

RELEASE_HEADER = "x-bdg-release"


class Edge:
    def __init__(self, routes: Path, artifacts: ArtifactStore, rng: random.Random) -> None:
        self.routes_path, self.artifacts, self.rng = routes, artifacts, rng
        self.table = RouteTable()
        self.seen: tuple[int, int, int] | None = None  # the route file when last read
        self.manifests: dict[str, Manifest | ArtifactError] = {}
        self.counts: dict[str, Counts] = {}

    def current(self) -> RouteTable:
        try:
            stat = self.routes_path.stat()
        except FileNotFoundError:
            return self.table
        # A stat per request: the deployer's change shows at once. Each write is a new file
        # (renamed over), so its inode tells two writes apart within one mtime tick.
        seen = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if seen != self.seen:
            self.table, self.seen = read_table(self.routes_path), seen
        return self.table

    def manifest(self, digest: str) -> Manifest:
        if digest not in self.manifests:
            try:
                self.manifests[digest] = self.artifacts.verify(digest)
            except ArtifactError as error:
                self.manifests[digest] = error
        found = self.manifests[digest]
        if isinstance(found, ArtifactError):
            raise found
        return found

    def count(self, release: str, status: int, started: float) -> None:
        counts = self.counts.setdefault(release, Counts())
        counts.requests += 1
        counts.errors += status >= 500
        counts.latencies_ms.append((time.perf_counter() - started) * 1000)

    def choose(self, route: SiteRoute, request: Request) -> tuple[str | None, int | None]:
        """The release a visitor gets, and a new bucket to set when it had none."""
        raw = request.cookies.get(VISITOR_COOKIE, "")
        bucket = int(raw) if raw.isdigit() and int(raw) < BUCKETS else None
        new = None
        if bucket is None:
            bucket = new = self.rng.randrange(BUCKETS)
        if route.canary and in_canary(bucket, route.percent):
            return route.canary, new
        return route.stable, new

    async def serve(self, request: Request) -> Response:
        started = time.perf_counter()
        target = parse_host(request.headers.get("host", ""))
        route = self.current().sites.get(target[0]) if target else None
        if target is None or route is None:
            return PlainTextResponse("no such site\n", status_code=404)
        release, new_bucket = (target[1], None) if target[1] else self.choose(route, request)
        if release is None or release not in route.releases:
            return PlainTextResponse("nothing released here yet\n", status_code=404)
        response = self._file(route.digest(release), request.url.path)
        response.headers[RELEASE_HEADER] = release
        if new_bucket is not None:
            response.set_cookie(VISITOR_COOKIE, str(new_bucket), max_age=30 * 86_400)
        self.count(release, response.status_code, started)
        return response

    def _file(self, digest: str, path: str) -> Response:
        try:
            manifest = self.manifest(digest)
        except ArtifactError as error:
            return PlainTextResponse(f"release refused: {error}\n", status_code=503)
        name = path.lstrip("/")
        for candidate in (name, f"{name.rstrip('/')}/index.html".lstrip("/")):
            entry = manifest.files.get(candidate)
            if entry is not None:
                kind = mimetypes.guess_type(candidate)[0] or "application/octet-stream"
                return FileResponse(self.artifacts.blob(entry.sha256), media_type=kind)
        return PlainTextResponse("not found\n", status_code=404)

    async def beacon(self, request: Request) -> Response:
        """A client error of the release this visitor was served (the page's own header)."""
        target = parse_host(request.headers.get("host", ""))
        route = self.current().sites.get(target[0]) if target else None
        release = request.headers.get(RELEASE_HEADER) or request.query_params.get("release")
        if route is None or not release or release not in route.releases:
            return JSONResponse({"error": "release: not a release of this site"}, 400)
        self.counts.setdefault(release, Counts()).errors += 1
        return Response(status_code=204)

    async def beacon_script(self, request: Request) -> Response:
        """The opt-in beacon, bound to the release this visitor gets (not counted: it is the
        beacon, not the page)."""
        target = parse_host(request.headers.get("host", ""))
        route = self.current().sites.get(target[0]) if target else None
        if target is None or route is None:
            return PlainTextResponse("no such site\n", status_code=404)
        release, new_bucket = (target[1], None) if target[1] else self.choose(route, request)
        if release is None or release not in route.releases:
            return PlainTextResponse("nothing released here yet\n", status_code=404)
        response = Response(edge_script(release), media_type="text/javascript")
        response.headers["cache-control"] = "no-store"  # the visitor's release can change
        if new_bucket is not None:
            response.set_cookie(VISITOR_COOKIE, str(new_bucket), max_age=30 * 86_400)
        return response

    async def stats(self, request: Request) -> Response:
        return JSONResponse({name: c.view() for name, c in self.counts.items()})


def create_app(
    routes: Path, artifacts: ArtifactStore, seed: int | None = None, secret: bytes | None = None
) -> Starlette:
    """``secret``: the beacon keys' (``beacon/keys.py``); None: one of this app's own."""
    edge = Edge(routes, artifacts, random.Random(seed))
    collector = Collector(edge.current, secret or secrets.token_bytes(32))
    app = Starlette(
        routes=[
            Route("/_bdg/stats", edge.stats, methods=["GET"]),
            Route("/_bdg/beacon", edge.beacon, methods=["POST"]),
            Route("/_bdg/beacon.js", edge.beacon_script, methods=["GET"]),
            Route("/_bdg/collect", collector.collect, methods=["POST"]),
            Route("/_bdg/collect", collector.preflight, methods=["OPTIONS"]),
            Route("/_bdg/beacons", collector.stats, methods=["GET"]),
            Route("/{path:path}", edge.serve, methods=["GET", "HEAD"]),
        ]
    )
    app.state.edge, app.state.collector = edge, collector
    return app
