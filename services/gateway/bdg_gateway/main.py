"""Composition root: the shared service runtime plus the HTTP server (``python -m``)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import sys
from collections.abc import Iterator, Sequence

import httpx
import uvicorn
from fastapi import FastAPI

from bdg_gateway import issue_comments, log_redaction
from bdg_gateway.app import create_app
from bdg_gateway.auth import AuthConfigError, Authenticator
from bdg_gateway.issue_jobs import IssueJobs
from bdg_gateway.issue_settings import IssueTriggerError, IssueTriggers, load_triggers
from bdg_gateway.observability import count_jobs_per_state
from bdg_gateway.queries import JobQueries
from bdg_jobs.deploy_credentials import CredentialKeyError, DeployCredentials, load_key
from bdg_jobs.sources import SourceGrantsError
from bdg_jobs.tenants import TenantPolicyError, load_policies
from bdg_jobs.user_commands import JobCommands
from bdg_runtime import heap, service
from bdg_runtime.reactions import AnyReaction
from bdg_runtime.settings import Settings, source_rules
from bdg_sandbox.client import SandboxClient

NAME = "gateway"
GRACEFUL_SHUTDOWN_SECONDS = 10
log = logging.getLogger(__name__)


class GatewayServer(uvicorn.Server):
    """uvicorn without its own signal handlers: the service's stop event stops it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


LISTEN_FD = "BDG_LISTEN_FD"  # bdg_cli.procs: a socket `bdg up` bound, shared by the workers


def bind(host: str, port: int) -> socket.socket:
    """The listening socket: the one inherited from `bdg up` (each worker accepts from it), or
    bound here so a taken port is an error we can report."""
    if inherited := os.environ.get(LISTEN_FD):
        return socket.socket(fileno=int(inherited))
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=2048)


def http_server(app: FastAPI) -> GatewayServer:
    log_redaction.install()
    config = uvicorn.Config(
        app, log_config=None, lifespan="off", timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS
    )
    return GatewayServer(config)


def sandbox_client(endpoint: str) -> SandboxClient | None:
    """sandboxd's client (it connects on first use); None, logged, for an unusable endpoint."""
    try:
        return SandboxClient(endpoint)
    except ValueError as error:
        log.error("no sandbox: %s; /agent/sandbox answers 503", error)
        return None


def issue_reactions(triggers: IssueTriggers, ctx: service.ServiceContext) -> Sequence[AnyReaction]:
    """Comments on the issues that started jobs (``issue_comments`` says why here)."""
    client = httpx.AsyncClient(timeout=issue_comments.POST_TIMEOUT_SECONDS)
    links = IssueJobs(ctx.database_url)
    settings = ctx.settings
    public = settings.bdg_public_url or f"http://{settings.gateway_host}:{settings.gateway_port}"
    return issue_comments.reactions(triggers, links, client, settings.bdg_max_deliver, public)


def deploy_key(settings: Settings) -> bytes:
    try:
        return load_key(settings.bdg_home)
    except CredentialKeyError as error:
        raise service.ConfigurationError(str(error)) from error


async def serve_http(
    ctx: service.ServiceContext, stop: asyncio.Event, triggers: IssueTriggers | None = None
) -> None:
    """The ``extra`` task of the runtime: the API until ``stop`` is set."""
    settings = ctx.settings
    auth = Authenticator.from_settings(settings)
    queries = await JobQueries.open(ctx.database_url)
    sandbox = sandbox_client(settings.agent_sandbox_endpoint)
    app = create_app(
        JobCommands(
            ctx.app,
            ctx.redrive,
            load_policies(ctx.settings.bdg_tenant_policies),
            source_rules(ctx.settings),
        ),
        queries,
        ctx.nc,
        auth,
        sandbox,
        triggers,
        DeployCredentials(queries.pool.connection, deploy_key(settings)),
        screenshots=settings.bdg_test_artifacts_dir,
    )
    server = http_server(app)
    try:
        sock = bind(settings.gateway_host, settings.gateway_port)
    except OSError as error:
        log.error("cannot listen on %s:%s: %s", settings.gateway_host, settings.gateway_port, error)
        await queries.close()
        stop.set()
        return
    # The app and its routes live as long as the process: never walked by the collector again.
    log.info("gateway app built: %d objects frozen", heap.settle())
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    counting = asyncio.create_task(count_jobs_per_state(queries, stop))
    stopping = asyncio.create_task(stop.wait())
    log.info("gateway listening on http://%s:%s", settings.gateway_host, sock.getsockname()[1])
    try:
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if serving.done():
            log.error("the HTTP server ended on its own; stopping the gateway")
            stop.set()
    finally:
        server.should_exit = True
        stopping.cancel()
        counting.cancel()
        with contextlib.suppress(Exception):
            await serving
        await queries.close()
        if sandbox is not None:
            await sandbox.close()


def run() -> None:
    settings = Settings()
    try:
        Authenticator.from_settings(settings)
        load_policies(settings.bdg_tenant_policies)
        source_rules(settings)
        triggers = load_triggers(os.environ.get("BDG_ISSUE_TRIGGERS", ""))
        load_key(settings.bdg_home)  # the deploy credentials' key: a bad one stops the start
    except (
        AuthConfigError,
        TenantPolicyError,
        SourceGrantsError,
        IssueTriggerError,
        CredentialKeyError,
    ) as error:
        print(f"bdg-gateway: {error}", file=sys.stderr)
        raise SystemExit(2) from error
    service.run(
        NAME,
        functools.partial(issue_reactions, triggers),
        functools.partial(serve_http, triggers=triggers),
    )


if __name__ == "__main__":
    run()
