"""Fixtures of the gateway tests: a real store and bus per test, keys made at test time.

Imported by the ``test_gateway_*`` modules (``tests/conftest.py`` belongs to the whole suite):
the functions are named ``<fixture>_fixture`` so the import does not shadow the parameters.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import jwt
import nats
import psycopg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from fastapi import FastAPI
from nats.aio.client import Client

from bdg_gateway.app import create_app
from bdg_gateway.auth import Authenticator
from bdg_gateway.main import bind, http_server
from bdg_gateway.queries import JobQueries
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Cause, Job
from bdg_jobs.projector import catch_up
from bdg_jobs.store import JobStore
from bdg_jobs.user_commands import JobCommands
from bdg_runtime.bus import JetStreamPublisher, ensure_streams
from bdg_runtime.redrive import Redriver
from tests.conftest import Servers
from tests.waiting import eventually

AUDIENCE = "bigdaddyg-test"
ISSUER = "https://issuer.test"


def _pem(key: rsa.RSAPublicKey | ed25519.Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


@dataclass(frozen=True)
class Keys:
    """Signing keys made fresh for the session: nothing secret is ever committed."""

    secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    rsa: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    ed: ed25519.Ed25519PrivateKey = field(default_factory=ed25519.Ed25519PrivateKey.generate)

    @property
    def rsa_public_pem(self) -> str:
        return _pem(self.rsa.public_key())

    @property
    def ed_public_pem(self) -> str:
        return _pem(self.ed.public_key())

    def signing_key(self, algorithm: str) -> Any:
        return {"HS256": self.secret, "RS256": self.rsa, "EdDSA": self.ed}[algorithm]

    def authenticator(self, algorithm: str = "HS256", issuer: str | None = None) -> Authenticator:
        return Authenticator.configure(
            algorithm,
            secret=self.secret if algorithm == "HS256" else None,
            public_key={"RS256": self.rsa_public_pem, "EdDSA": self.ed_public_pem}.get(algorithm),
            audience=AUDIENCE,
            issuer=issuer,
        )

    def token(
        self,
        tenant: str,
        sub: str = "alice",
        algorithm: str = "HS256",
        expires_in: float = 300,
        key: Any = None,
        drop: tuple[str, ...] = (),
        **claims: Any,
    ) -> str:
        payload: dict[str, Any] = {
            "sub": sub,
            "tenant": tenant,
            "aud": AUDIENCE,
            "iat": int(time.time()),
            "exp": int(time.time() + expires_in),
            **claims,
        }
        for name in drop:
            payload.pop(name, None)
        return jwt.encode(payload, key or self.signing_key(algorithm), algorithm=algorithm)

    def headers(self, tenant: str, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(tenant, **kwargs)}"}


@pytest.fixture(name="keys", scope="session")
def keys_fixture() -> Keys:
    return Keys()


def new_tenant() -> str:
    return "t" + secrets.token_hex(6)


@dataclass
class Stack:
    """What the gateway is built from, as ``bdg_runtime.service.serve`` builds it."""

    database_url: str
    store: JobStore
    app: JobApplication
    commands: JobCommands
    queries: JobQueries
    nc: Client

    def event_count(self) -> int:
        return self.store.max_notification_id()

    def project(self) -> None:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            catch_up(self.store, conn)

    async def decide(self, job_id: UUID, decide: Any) -> None:
        """Append what a service would decide (``decide(job, cause)``), published after commit."""
        cause = Cause(producer="test-service", occurred_at=datetime.now(UTC))
        await self.app.execute(job_id, lambda job: decide(job, cause))

    async def job(self, job_id: UUID) -> Job:
        return await self.app.load(job_id)


@pytest.fixture(name="stack")
async def stack_fixture(
    servers: Servers, database_url: str, namespace: str
) -> AsyncIterator[Stack]:
    store = JobStore.from_url(database_url)
    nc = await nats.connect(servers.nats_url)
    js = nc.jetstream()
    await ensure_streams(js, 60)
    app = JobApplication(store, JetStreamPublisher(js))
    queries = await JobQueries.open(database_url)
    try:
        yield Stack(database_url, store, app, JobCommands(app, Redriver(store, js)), queries, nc)
    finally:
        await queries.close()
        await nc.close()
        store.close()


@pytest.fixture(name="gateway")
def gateway_fixture(stack: Stack, keys: Keys) -> FastAPI:
    return create_app(stack.commands, stack.queries, stack.nc, keys.authenticator())


@pytest.fixture(name="client")
async def client_fixture(gateway: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        yield http


@pytest.fixture(name="live_url")
async def live_url_fixture(gateway: FastAPI) -> AsyncIterator[str]:
    """The gateway served by uvicorn on a free port of this host: ``ws://127.0.0.1:<port>``."""
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = http_server(gateway)
    serving = asyncio.create_task(server.serve(sockets=[sock]))

    async def started() -> bool:
        assert not serving.done(), serving
        return bool(server.started)

    await eventually(started, 10, "uvicorn to start")
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 15)
