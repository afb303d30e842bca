"""Ed25519 signing keys under the state dir, rotated by age; public keys kept as a JWKS.

Private keys never leave the directory (files 0600, never in the repository). A rotation adds a
key and makes it the active one; old keys stay so their public halves keep verifying old rows.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from secrets import token_hex
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

JWS_TYPE = "bdg-audit-row+jws"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_jwk(kid: str, key: Ed25519PublicKey) -> dict[str, str]:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64url(raw),
        "kid": kid,
        "alg": "EdDSA",
        "use": "sig",
    }


def public_keys(jwks: dict[str, Any]) -> dict[str, Ed25519PublicKey]:
    """kid -> key of a JWKS; entries that are not Ed25519 keys are ignored."""
    keys: dict[str, Ed25519PublicKey] = {}
    for jwk in jwks.get("keys", []):
        if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519" and "kid" in jwk:
            keys[str(jwk["kid"])] = Ed25519PublicKey.from_public_bytes(unb64url(str(jwk["x"])))
    return keys


def merge_jwks(*sets: dict[str, Any]) -> dict[str, Any]:
    """The union of key sets by kid, sorted (old keys are never dropped)."""
    by_kid: dict[str, dict[str, Any]] = {}
    for jwks in sets:
        for jwk in jwks.get("keys", []):
            by_kid.setdefault(str(jwk.get("kid")), jwk)
    return {"keys": [by_kid[k] for k in sorted(by_kid)]}


def kid_of(signature: str) -> str:
    """The key id in a compact JWS's header (not verified)."""
    return str(json.loads(unb64url(signature.split(".", 1)[0])).get("kid"))


def jws_header(kid: str) -> str:
    """The protected header of every row this key signs, base64url (RFC 7515)."""
    header = {"alg": "EdDSA", "kid": kid, "typ": JWS_TYPE}
    return _b64url(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey

    def sign(self, payload: bytes) -> str:
        """Compact JWS (header.payload.signature), built here rather than by a JWT library:
        the header is the same for every row, so this costs one Ed25519 signature."""
        signing_input = f"{jws_header(self.kid)}.{_b64url(payload)}"
        return f"{signing_input}.{_b64url(self.private.sign(signing_input.encode()))}"

    def jwk(self) -> dict[str, str]:
        return public_jwk(self.kid, self.private.public_key())


class Keyring:
    """The keys in ``directory``: ``<kid>.pem`` each, the newest kid is the active one."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def kids(self) -> list[str]:
        # Kids start with their UTC creation time, so name order is age order.
        return sorted(p.stem for p in self.directory.glob("*.pem"))

    def load(self, kid: str) -> SigningKey:
        pem = (self.directory / f"{kid}.pem").read_bytes()
        private = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise ValueError(f"audit key {kid} is not an Ed25519 key")
        return SigningKey(kid, private)

    def active(self) -> SigningKey:
        kids = self.kids()
        if not kids:
            raise LookupError(f"no audit signing key in {self.directory}")
        return self.load(kids[-1])

    def rotate(self, now: datetime) -> SigningKey:
        """A new key, active from now on."""
        with self._locked():
            return self._create(now)

    def ensure(self, now: datetime, rotate_after: timedelta) -> SigningKey:
        """The active key; a new one when there is none or the active one is too old."""
        with self._locked():
            kids = self.kids()
            if kids and now - created_at(kids[-1]) < rotate_after:
                return self.load(kids[-1])
            return self._create(now)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.load(kid).jwk() for kid in self.kids()]}

    def _create(self, now: datetime) -> SigningKey:
        # A new key must sort last even if the clock is behind the newest key's time.
        kids = self.kids()
        if kids:
            now = max(now, created_at(kids[-1]) + timedelta(microseconds=1))
        kid = f"{now.astimezone(UTC):%Y%m%dT%H%M%S%fZ}-{token_hex(4)}"
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path = self.directory / f"{kid}.pem"
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(pem)
        tmp.replace(path)  # atomic: never half a key under a kid
        return SigningKey(kid, private)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # Auditor copies sharing one state dir must not both create a key at once.
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with (self.directory / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield


def created_at(kid: str) -> datetime:
    return datetime.strptime(kid.split("-", 1)[0], "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
