"""What the gateway's tests are built from: signing keys made at test time, the job store and bus
behind the gateway, and a tenant of the test's own. The fixtures that build them per test are in
``tests/conftest.py`` (``keys``, ``stack``, ``gateway``, ``client``, ``live_url``).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import jwt
import psycopg
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from nats.aio.client import Client

from bdg_gateway.auth import Authenticator
from bdg_gateway.queries import JobQueries
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Cause, Job
from bdg_jobs.projector import catch_up
from bdg_jobs.store import JobStore
from bdg_jobs.user_commands import JobCommands

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
