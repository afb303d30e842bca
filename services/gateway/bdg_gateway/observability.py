"""What an operator sees of the gateway: a span per HTTP request (the root of a job's trace)
and the jobs per state in the metrics.

A caller's ``traceparent`` header is not followed: callers are tenants, and a tenant must not
put its requests (and its jobs) into a trace of its choosing, another tenant's included."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bdg_contracts.states import JobState
from bdg_gateway.queries import JobQueries
from bdg_telemetry import metrics, tracing

log = logging.getLogger(__name__)
JOB_COUNT_EVERY_SECONDS = 15.0


class RequestSpans:
    """Installed only when tracing is on: off, a request pays nothing for it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        attributes: dict[str, tracing.AttributeValue | None] = {
            "http.request.method": method,
            "url.path": scope.get("path", ""),
        }
        status: dict[str, int] = {}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
            await send(message)

        with tracing.span(method, attributes, kind="server") as span:
            try:
                await self.app(scope, receive, sending)
            finally:
                route = _route_of(scope)
                span.set("http.route", route)
                span.set("http.response.status_code", status.get("code"))
                if route is not None:
                    span.rename(f"{method} {route}")


def _route_of(scope: Scope) -> str | None:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else None


async def count_jobs_per_state(
    queries: JobQueries, stop: asyncio.Event, every: float = JOB_COUNT_EVERY_SECONDS
) -> None:
    """Refresh ``bdg_jobs{state}`` from the read model until ``stop``: one small query."""
    while not stop.is_set():
        try:
            counts = await queries.jobs_per_state()
        except Exception as error:  # the database away: the next pass tries again
            log.warning("cannot count jobs per state: %s", error)
        else:
            for state in JobState:
                metrics.JOBS.labels(state.value).set(counts.get(state.value, 0))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
