"""JWT bearer authentication: one configured algorithm and key, a caller per valid token.

The tenant is the ``tenant`` claim and the user the ``sub`` claim; ``roles: ["admin"]`` makes
the caller an admin of its tenant. Every refusal says why, so a
client can tell an expired token from a forged one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from bdg_contracts.ids import TENANT_PATTERN
from bdg_jobs.user_commands import Caller
from bdg_runtime.settings import Settings

ALGORITHMS = ("HS256", "RS256", "EdDSA")
ADMIN = "admin"  # in the ``roles`` claim: a tenant admin (budget caps)
MIN_SECRET_BYTES = 32  # RFC 7518 3.2: an HS256 key at least as long as the hash
_KEY_TYPES: dict[str, tuple[type[Any], ...]] = {
    "RS256": (rsa.RSAPublicKey,),
    "EdDSA": (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey),
}


class AuthConfigError(RuntimeError):
    """The gateway has no usable key: it must not start."""


class AuthError(Exception):
    """A request's credentials are refused; ``detail`` tells the client why."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.InvalidAudienceError, "token audience is not accepted"),
    (jwt.InvalidIssuerError, "token issuer is not accepted"),
    (jwt.ImmatureSignatureError, "token is not valid yet"),
    (jwt.InvalidSignatureError, "token signature is invalid (tampered or signed with another key)"),
    (jwt.InvalidAlgorithmError, "token algorithm is not accepted"),
    (jwt.DecodeError, "token is malformed"),
)


VERIFIED_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class Authenticator:
    algorithm: str
    key: Any
    audience: str
    issuer: str | None = None
    leeway_seconds: float = 30.0
    # token -> (caller, exp) of tokens whose signature and claims were checked: a client sends
    # the same token on every request, and checking it again was a tenth of the gateway's time
    # under load (bench/job_create.py). Only the expiry can change the answer; it is looked at
    # on every use.
    _verified: dict[str, tuple[Caller, float]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> Authenticator:
        return cls.configure(
            settings.jwt_algorithm,
            secret=settings.jwt_secret,
            public_key=settings.jwt_public_key,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
        )

    @classmethod
    def configure(
        cls,
        algorithm: str,
        *,
        secret: str | None = None,
        public_key: str | None = None,
        audience: str,
        issuer: str | None = None,
    ) -> Authenticator:
        if algorithm not in ALGORITHMS:
            raise AuthConfigError(f"JWT_ALGORITHM must be one of {', '.join(ALGORITHMS)}")
        if not audience:
            raise AuthConfigError("JWT_AUDIENCE must not be empty")
        if algorithm == "HS256":
            if not secret:
                raise AuthConfigError(
                    "JWT_ALGORITHM=HS256 needs JWT_SECRET; the gateway refuses "
                    "to start without a key"
                )
            if len(secret.encode()) < MIN_SECRET_BYTES:
                raise AuthConfigError(f"JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")
            return cls(algorithm, secret, audience, issuer)
        if not public_key:
            raise AuthConfigError(
                f"JWT_ALGORITHM={algorithm} needs JWT_PUBLIC_KEY (PEM); the "
                "gateway refuses to start without a key"
            )
        try:
            key = load_pem_public_key(public_key.encode())
        except ValueError as error:
            raise AuthConfigError(f"JWT_PUBLIC_KEY is not a PEM public key: {error}") from None
        if not isinstance(key, _KEY_TYPES[algorithm]):
            raise AuthConfigError(
                f"JWT_PUBLIC_KEY is a {type(key).__name__}, not a key for {algorithm}"
            )
        return cls(algorithm, key, audience, issuer)

    def authenticate(self, token: str | None) -> Caller:
        if not token:
            raise AuthError("missing bearer token")
        if (seen := self._verified.get(token)) is not None:
            caller, expires = seen
            if time.time() <= expires + self.leeway_seconds:
                return caller
            del self._verified[token]
            raise AuthError("token expired")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise AuthError("token is malformed") from None
        if header.get("alg") != self.algorithm:
            raise AuthError(
                f"token algorithm {header.get('alg')!r} is not accepted; expected {self.algorithm}"
            )
        claims = self._decode(token)
        caller = _caller(claims)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (caller, float(claims["exp"]))
        return caller

    def _decode(self, token: str) -> dict[str, Any]:
        required = ["exp", "aud", "sub", "tenant"] + (["iss"] if self.issuer else [])
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.key,
                algorithms=[self.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                options={"require": required},
            )
        except jwt.MissingRequiredClaimError as error:
            raise AuthError(f"token lacks the required claim {error.claim!r}") from None
        except jwt.PyJWTError as error:
            raise AuthError(_reason(error)) from None
        return claims


def _reason(error: jwt.PyJWTError) -> str:
    for cls, reason in _REASONS:
        if isinstance(error, cls):
            return reason
    return f"token is invalid: {error}"


def _caller(claims: dict[str, Any]) -> Caller:
    tenant, user = claims.get("tenant"), claims.get("sub")
    if not isinstance(tenant, str) or not TENANT_PATTERN.fullmatch(tenant):
        raise AuthError(f"token claim 'tenant' must match {TENANT_PATTERN.pattern}")
    if not isinstance(user, str) or not user.strip():
        raise AuthError("token claim 'sub' must be a non-empty string")
    roles = claims.get("roles", [])
    return Caller(tenant_id=tenant, user_id=user, admin=isinstance(roles, list) and ADMIN in roles)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if any."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None
