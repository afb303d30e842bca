"""The collector of cloud releases' client beacons: ``POST /_bdg/collect`` on the edge.

A page a cloud provider serves (Vercel's rolling release, say) cannot be counted by the edge,
and Vercel documents no REST endpoint for a deployment's request or error counts (its
Observability figures are a dashboard). So the deployer puts ``/_bdg/beacon.js``
(``beacon/script.py``) into the release's files and each page reports here: a view, and an
error at most once. ``GET /_bdg/beacons`` gives those counts per release, apart from what the
edge served itself, and the deployer feeds them to the same sequential test as the edge's.

The input is hostile (anyone can post): a body of at most ``MAX_BODY`` bytes, no NUL, JSON
with exactly ``release``, ``key``, ``views``, ``errors``, integer counts in ``0..MAX_BATCH``
(no floats, so no NaN, Infinity or 1e999), a release some route names (404 otherwise) and the
key the deployer wrote into that release (403 otherwise: another tenant's release). Anything
refused changes no count.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bdg_contracts.release_events import NAME
from bdg_deployer.beacon.keys import KEY, key_matches
from bdg_deployer.edge.counts import Counts
from bdg_deployer.edge.routes import RouteTable

MAX_BODY = 512
MAX_BATCH = 50
FIELDS = frozenset({"release", "key", "views", "errors"})
CORS = {"access-control-allow-origin": "*"}
PREFLIGHT = {
    **CORS,
    "access-control-allow-methods": "POST",
    "access-control-allow-headers": "content-type",
    "access-control-max-age": "86400",
}


class BeaconInputError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Report:
    release: str
    key: str
    views: int
    errors: int


def _refuse(what: str) -> NoReturn:
    raise BeaconInputError(400, what)


def _no_float(text: str) -> NoReturn:
    _refuse(f"counts are integers, not {text[:20]}")


def _count(body: dict[str, Any], name: str) -> int:
    value = body[name]
    if type(value) is not int or not 0 <= value <= MAX_BATCH:
        _refuse(f"{name}: an integer in 0..{MAX_BATCH}")
    return value


def parse_report(raw: bytes) -> Report:
    if len(raw) > MAX_BODY:
        raise BeaconInputError(413, f"a beacon is at most {MAX_BODY} bytes")
    if b"\x00" in raw:
        _refuse("NUL in the body")
    try:
        body = json.loads(raw.decode(), parse_float=_no_float, parse_constant=_no_float)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        _refuse("the body is not JSON")
    if not isinstance(body, dict) or set(body) != FIELDS:
        _refuse(f"the body is an object with exactly {sorted(FIELDS)}")
    release, key = body["release"], body["key"]
    if not isinstance(release, str) or not re.fullmatch(NAME, release):
        _refuse("release: not a release name")
    if not isinstance(key, str) or not re.fullmatch(KEY, key):
        _refuse("key: 64 hex digits")
    views, errors = _count(body, "views"), _count(body, "errors")
    if views + errors == 0:
        _refuse("nothing to count")
    return Report(release, key, views, errors)


async def read_capped(request: Request, cap: int) -> bytes:
    """At most ``cap + 1`` bytes, whatever the client announces or sends."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise BeaconInputError(413, f"a beacon is at most {cap} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > cap:
            break
    return raw


class Collector:
    def __init__(self, table: Callable[[], RouteTable], secret: bytes) -> None:
        self.table, self.secret = table, secret
        self.counts: dict[str, Counts] = {}

    def _check_owner(self, report: Report) -> None:
        routes = [r for r in self.table().sites.values() if report.release in r.releases]
        if not routes:
            raise BeaconInputError(404, "release: no such release")
        for route in routes:
            owner = (route.tenant or "", route.site_id or "")
            if all(owner) and key_matches(self.secret, *owner, report.release, report.key):
                return
        raise BeaconInputError(403, "key: not the key of this release")

    async def collect(self, request: Request) -> Response:
        try:
            report = parse_report(await read_capped(request, MAX_BODY))
            self._check_owner(report)
        except BeaconInputError as error:
            return JSONResponse({"error": str(error)}, error.status, headers=CORS)
        counts = self.counts.setdefault(report.release, Counts())
        counts.requests += report.views
        counts.errors += report.errors
        return Response(status_code=204, headers=CORS)

    async def preflight(self, request: Request) -> Response:
        return Response(status_code=204, headers=PREFLIGHT)

    async def stats(self, request: Request) -> Response:
        return JSONResponse({name: c.view() for name, c in self.counts.items()})
