"""The machinery shared by the cloud providers' fake APIs: a real HTTP server on a free port, in
a thread, with routes by method and path pattern, a log of every request, and scripted faults.

``fail(pattern, status, body, headers, times)`` makes the next ``times`` requests whose path
matches answer with that status (a provider's documented error body, ``Retry-After``...) before
the route runs: how a test gets a 401, a 429 then a success, or 5xx for ever.
``hold(pattern)`` keeps the next matching request waiting, unanswered and not applied, until
the test lets it go: how a test kills a client in the middle of its call (the call is then
lost, as a request cut off before the provider acted on it).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int
    body: Any = None  # JSON unless bytes
    headers: dict[str, str] = field(default_factory=dict)


Route = Callable[[Request, re.Match[str]], Answer]
HOLD_AT_MOST_S = 60.0


@dataclass
class Hold:
    pattern: re.Pattern[str]
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)


@dataclass
class Fault:
    pattern: re.Pattern[str]
    answer: Answer
    times: int


class FakeApi:
    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Route]] = []
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self.holds: list[Hold] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def route(self, method: str, pattern: str, handle: Route) -> None:
        self.routes.append((method, re.compile(f"^{pattern}$"), handle))

    def fail(
        self,
        pattern: str,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        with self.lock:
            self.faults.append(
                Fault(re.compile(pattern), Answer(status, body, headers or {}), times)
            )

    def hold(self, pattern: str) -> Hold:
        held = Hold(re.compile(pattern))
        with self.lock:
            self.holds.append(held)
        return held

    def calls(self, method: str, pattern: str) -> list[Request]:
        match = re.compile(f"^{pattern}$")
        return [r for r in self.requests if r.method == method and match.match(r.path)]

    def start(self) -> FakeApi:
        self.thread.start()
        return self

    def stop(self) -> None:
        for held in self.holds:
            held.released.set()
        self.server.shutdown()
        self.server.server_close()

    def _answer(self, request: Request) -> Answer:
        with self.lock:
            self.requests.append(request)
            held = next(
                (
                    h
                    for h in self.holds
                    if not h.arrived.is_set() and h.pattern.search(request.path)
                ),
                None,
            )
            if held is not None:
                held.arrived.set()
        if held is not None:  # kept waiting, then dropped: the route never runs
            held.released.wait(HOLD_AT_MOST_S)
            return Answer(503, {"error": {"code": "held", "message": "cut off by the test"}})
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.pattern.search(request.path):
                    fault.times -= 1
                    return fault.answer
        for method, pattern, handle in self.routes:
            found = pattern.match(request.path)
            if method == request.method and found:
                return handle(request, found)
        return Answer(404, {"error": f"no route {request.method} {request.path}"})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                request = Request(
                    self.command,
                    split.path,
                    parse_qs(split.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
                answer = fake._answer(request)
                raw = (
                    answer.body
                    if isinstance(answer.body, bytes)
                    else b""
                    if answer.body is None
                    else json.dumps(answer.body).encode()
                )
                self.send_response(answer.status)
                if not isinstance(answer.body, bytes) and answer.body is not None:
                    self.send_header("content-type", "application/json")
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
