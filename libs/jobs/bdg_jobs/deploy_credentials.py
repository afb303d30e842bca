"""Deploy providers' tokens per tenant: encrypted at rest, outside the event log, never shown.

A row per (tenant, provider): the token sealed with AES-256-GCM (a fresh nonce per write; the
tenant and provider are the associated data, so a row copied to another tenant or provider does
not open), the provider's non-secret settings (project, site, account) in clear, and the site
target it serves (one provider per target of a tenant). The key is ``BDG_CREDENTIALS_KEY``
(base64 of 32 bytes) or else ``$BDG_HOME/credentials.key``, made on first use, mode 0600: the
gateway that writes and the deployer that reads share the state dir. Tokens are ``SecretStr``
(masked in any repr or log line) and are never returned by the API.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg import AsyncConnection
from pydantic import SecretStr

KEY_ENV = "BDG_CREDENTIALS_KEY"
KEY_FILE = "credentials.key"
NONCE = 12

Connect = Callable[[], AbstractAsyncContextManager[AsyncConnection[Any]]]


def connect_url(url: str) -> Connect:
    """A connection per use: a deploy reads its provider's credentials once."""

    @asynccontextmanager
    async def connect() -> AsyncIterator[AsyncConnection[Any]]:
        async with await AsyncConnection.connect(url, autocommit=True) as conn:
            yield conn

    return connect


class CredentialKeyError(ValueError):
    """The key is not 32 bytes of base64, or a sealed token does not open with it."""


def load_key(bdg_home: Path, environ: dict[str, str] | None = None) -> bytes:
    raw = (os.environ if environ is None else environ).get(KEY_ENV, "").strip()
    if raw:
        return _decode(raw, KEY_ENV)
    path = bdg_home.expanduser() / KEY_FILE
    if not path.exists():
        _create_key(path)
    return _decode(path.read_text().strip(), str(path))


def _create_key(path: Path) -> None:
    """Write a new key where none is, whole or not at all: written aside, then linked in (fails
    if there already is one). Gateway workers start at once; a file created empty and written
    next was read empty by another (a configuration error: that worker was never restarted)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        # Two processes starting at once keep the first one's key.
        with contextlib.suppress(FileExistsError):
            os.link(aside, path)
    finally:
        aside.unlink()


def _decode(raw: str, where: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(raw)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise CredentialKeyError(f"{where}: not the base64 of a 32-byte key")
    return key


@dataclass(frozen=True)
class Credential:
    provider: str
    token: SecretStr
    settings: dict[str, str]
    target: str | None


@dataclass(frozen=True)
class CredentialView:
    """What a tenant admin sees: everything but the token."""

    provider: str
    target: str | None
    settings: dict[str, str]
    updated_at: datetime


_PUT = """
    INSERT INTO bdg_deploy_credentials (tenant, provider, target, settings, sealed)
    VALUES (%(tenant)s, %(provider)s, %(target)s, %(settings)s, %(sealed)s)
    ON CONFLICT (tenant, provider) DO UPDATE SET target = EXCLUDED.target,
        settings = EXCLUDED.settings, sealed = EXCLUDED.sealed, updated_at = now()
"""
_FREE_TARGET = """
    UPDATE bdg_deploy_credentials SET target = NULL
    WHERE tenant = %(tenant)s AND target = %(target)s AND provider <> %(provider)s
"""


class DeployCredentials:
    def __init__(self, connect: Connect, key: bytes) -> None:
        self.connect, self._aead = connect, AESGCM(key)

    def __repr__(self) -> str:  # never the key
        return "DeployCredentials()"

    def _seal(self, tenant: str, provider: str, token: str) -> bytes:
        nonce = secrets.token_bytes(NONCE)
        return nonce + self._aead.encrypt(nonce, token.encode(), f"{tenant}\n{provider}".encode())

    def _open(self, tenant: str, provider: str, sealed: bytes) -> SecretStr:
        try:
            plain = self._aead.decrypt(
                sealed[:NONCE], sealed[NONCE:], f"{tenant}\n{provider}".encode()
            )
        except InvalidTag:
            raise CredentialKeyError(
                f"the {provider} token of {tenant} does not open with this key"
            ) from None
        return SecretStr(plain.decode())

    async def put(
        self, tenant: str, provider: str, token: str, settings: dict[str, str], target: str | None
    ) -> None:
        """Set (or replace) the tenant's token for ``provider``; ``target``, when given, is
        served by this provider from now on (and no longer by another)."""
        args = {
            "tenant": tenant,
            "provider": provider,
            "target": target,
            "settings": json.dumps(settings),
            "sealed": self._seal(tenant, provider, token),
        }
        async with self.connect() as conn, conn.transaction():
            if target is not None:
                await conn.execute(_FREE_TARGET, args)
            await conn.execute(_PUT, args)

    async def delete(self, tenant: str, provider: str) -> bool:
        async with self.connect() as conn:
            cur = await conn.execute(
                "DELETE FROM bdg_deploy_credentials WHERE tenant = %s AND provider = %s",
                (tenant, provider),
            )
            return cur.rowcount > 0

    async def listed(self, tenant: str) -> list[CredentialView]:
        async with self.connect() as conn:
            cur = await conn.execute(
                "SELECT provider, target, settings, updated_at FROM bdg_deploy_credentials "
                "WHERE tenant = %s ORDER BY provider",
                (tenant,),
            )
            return [CredentialView(p, t, dict(s), u) for p, t, s, u in await cur.fetchall()]

    async def for_target(self, tenant: str, target: str) -> Credential | None:
        """The provider serving ``target`` of the tenant, with its token; None: the default."""
        return await self._one(tenant, "target = %s", target)

    async def get(self, tenant: str, provider: str) -> Credential | None:
        return await self._one(tenant, "provider = %s", provider)

    async def _one(self, tenant: str, where: str, value: str) -> Credential | None:
        async with self.connect() as conn:
            cur = await conn.execute(
                "SELECT provider, target, settings, sealed FROM bdg_deploy_credentials "
                f"WHERE tenant = %s AND {where}",
                (tenant, value),
            )
            row = await cur.fetchone()
        if row is None:
            return None
        provider, target, settings, sealed = row
        token = self._open(tenant, provider, bytes(sealed))
        return Credential(provider, token, dict(settings), target)
