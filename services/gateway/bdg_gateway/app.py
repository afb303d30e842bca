"""The FastAPI application: routes, error answers, health. Connects nothing itself."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig
from nats.aio.client import Client

from bdg_gateway import (
    api,
    attempt_routes,
    audit_routes,
    budget_routes,
    cost_routes,
    deploy_credential_routes,
    errors,
    index_deps,
    index_routes,
    login_routes,
    openapi_docs,
    plan_routes,
    privacy_routes,
    sandbox_routes,
    screenshot_routes,
    site_routes,
    thread_routes,
    tool_routes,
    web_static,
    webhook_routes,
    ws,
)
from bdg_gateway.auth import Authenticator
from bdg_gateway.deps import CurrentGateway, Gateway
from bdg_gateway.issue_jobs import IssueJobs
from bdg_gateway.issue_settings import IssueTriggers
from bdg_gateway.observability import RequestSpans
from bdg_gateway.queries import JobQueries
from bdg_gateway.views import Health, PoisonView
from bdg_jobs.deploy_credentials import DeployCredentials
from bdg_jobs.user_commands import JobCommands
from bdg_runtime.nats_flush import flush
from bdg_sandbox.client import SandboxClient
from bdg_telemetry import tracing

HEALTH_TIMEOUT_SECONDS = 3.0


NO_FASTAPI_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def create_app(
    commands: JobCommands,
    queries: JobQueries,
    nc: Client,
    auth: Authenticator,
    sandbox: SandboxClient | None = None,
    issue_triggers: IssueTriggers | None = None,
    deploy_credentials: DeployCredentials | None = None,
    screenshots: Path | None = None,
) -> FastAPI:
    app = FastAPI(
        title="BigDaddyG Agent gateway",
        version="0.1.0",
        description="Jobs: goal -> plan -> code -> test -> review -> deploy, one event log each.",
        # FastAPI's own OpenTelemetry hooks looked the tracer provider up in os.environ on every
        # request: 7% of the gateway's CPU under 200 concurrent creates (py-spy), with nothing
        # configured. Request spans are the project's own tracing's to make, not FastAPI's.
        telemetry=NO_FASTAPI_TELEMETRY,
    )
    app.state.gateway = Gateway(commands, queries, nc, auth)
    errors.install(app)
    app.include_router(api.router)
    app.include_router(plan_routes.router)
    app.include_router(attempt_routes.router)
    screenshot_routes.install(app, screenshots)  # None: none kept here, each one a 404
    app.include_router(budget_routes.router)
    app.include_router(cost_routes.router)
    app.state.deploy_credentials = deploy_credentials
    app.include_router(deploy_credential_routes.router)
    app.include_router(tool_routes.router)
    app.include_router(ws.router)
    index_deps.install(app, commands, queries)
    app.state.issue_triggers = issue_triggers or IssueTriggers()
    app.state.issue_jobs = IssueJobs(app.state.index.repos.url)
    app.include_router(index_routes.router)
    app.include_router(webhook_routes.router)
    app.include_router(audit_routes.router)
    app.include_router(privacy_routes.router)
    site_routes.install(app, commands, queries.pool, nc)
    sandbox_routes.install(app, sandbox)
    app.include_router(login_routes.router)
    app.include_router(thread_routes.router)
    web_static.install(app)
    app.add_api_route(
        "/healthz", healthz, methods=["GET"], tags=["health"], responses={503: {"model": Health}}
    )
    openapi_docs.install(app)
    if tracing.enabled():
        app.add_middleware(RequestSpans)
    return app


async def healthz(gateway: CurrentGateway) -> JSONResponse:
    """No authentication: PostgreSQL answers a query and NATS answers a ping; and how many
    events the read models skipped (poisoned: a stale row, not an outage, so still 200)."""
    database, nats = await asyncio.gather(_database(gateway), _nats(gateway))
    status = "ok" if database == nats == "ok" else "unavailable"
    poisoned, newest = await _poisoned(gateway) if database == "ok" else (0, None)
    health = Health(
        status=status, database=database, nats=nats, poisoned=poisoned, newest_poison=newest
    )
    return JSONResponse(health.model_dump(mode="json"), status_code=200 if status == "ok" else 503)


async def _poisoned(gateway: Gateway) -> tuple[int, PoisonView | None]:
    try:
        return await asyncio.wait_for(gateway.queries.poisoned(), HEALTH_TIMEOUT_SECONDS)
    except Exception:  # health answers whatever else it knows
        return 0, None


async def _database(gateway: Gateway) -> str:
    try:
        await asyncio.wait_for(gateway.queries.ping(), HEALTH_TIMEOUT_SECONDS)
    except Exception as error:
        return f"error: {type(error).__name__}"
    return "ok"


async def _nats(gateway: Gateway) -> str:
    if not gateway.nc.is_connected:
        return "disconnected"
    try:
        await flush(gateway.nc, HEALTH_TIMEOUT_SECONDS)
    except Exception as error:
        return f"error: {type(error).__name__}"
    return "ok"
