"""What a route gets injected: the gateway's collaborators and the authenticated caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from nats.aio.client import Client

from bdg_gateway.auth import Authenticator, AuthError
from bdg_gateway.queries import JobQueries
from bdg_jobs.user_commands import Caller, JobCommands

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    bearerFormat="JWT",
    description="A JWT with claims `sub` (user), `tenant`, `aud` and `exp`.",
)


@dataclass(frozen=True)
class Gateway:
    commands: JobCommands
    queries: JobQueries
    nc: Client
    auth: Authenticator


def gateway_of(app: FastAPI) -> Gateway:
    gateway: Gateway = app.state.gateway
    return gateway


# The dependencies are coroutines although they never wait: FastAPI runs a plain function in a
# worker thread, three thread hops per request, which under 200 concurrent requests cost more
# than the work (bench/job_create.py).
async def _gateway(request: Request) -> Gateway:
    return gateway_of(request.app)


async def _caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Caller:
    token = credentials.credentials if credentials else None
    try:
        return gateway_of(request.app).auth.authenticate(token)
    except AuthError as error:
        raise HTTPException(
            status_code=401,
            detail=error.detail,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None


# Straight from the request, not through ``_gateway``: every dependency is solved again on every
# request (FastAPI's cache keys, scopes, signature checks); solving them was a sixth of the
# gateway's CPU per create (py-spy, bench/job_create.py), and this level was one of four.
async def _commands(request: Request) -> JobCommands:
    return gateway_of(request.app).commands


async def _queries(request: Request) -> JobQueries:
    return gateway_of(request.app).queries


CurrentCaller = Annotated[Caller, Depends(_caller)]
Commands = Annotated[JobCommands, Depends(_commands)]
Queries = Annotated[JobQueries, Depends(_queries)]
CurrentGateway = Annotated[Gateway, Depends(_gateway)]
