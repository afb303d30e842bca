"""One-time login codes for the embedded default: ``bdg up`` issues one, the gateway redeems it.

A file per code under ``BDG_HOME/login-codes``, named by the code's SHA-256 (the code itself is
never stored): the CLI and the gateway share ``BDG_HOME`` on the machine the embedded stack runs
on, and a code must outlive a gateway restart without outliving its one use. Redeeming renames
the file away before reading it, so of two concurrent redemptions exactly one wins.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{32,128}")


class LoginCodeError(Exception):
    """The code is malformed, unknown, already used or expired (the caller cannot tell which)."""


@dataclass(frozen=True)
class LoginGrant:
    tenant_id: str
    user_id: str
    expires_at: float


@dataclass(frozen=True)
class LoginCodes:
    directory: Path

    def issue(self, tenant_id: str, user_id: str, *, now: float, ttl_seconds: float) -> str:
        code = secrets.token_urlsafe(32)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        grant = {"tenant_id": tenant_id, "user_id": user_id, "expires_at": now + ttl_seconds}
        path = self._path(code)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            json.dump(grant, file)
        return code

    def redeem(self, code: str, *, now: float) -> LoginGrant:
        if not CODE_PATTERN.fullmatch(code):
            raise LoginCodeError("login code is malformed")
        claimed = self.directory / f"redeeming-{secrets.token_hex(8)}"
        try:
            os.rename(self._path(code), claimed)
        except FileNotFoundError:
            raise LoginCodeError("login code is unknown or already used") from None
        try:
            grant = LoginGrant(**json.loads(claimed.read_text()))
        finally:
            with contextlib.suppress(FileNotFoundError):
                claimed.unlink()
        if grant.expires_at <= now:
            raise LoginCodeError("login code expired; run `bdg up` again for a new one")
        return grant

    def _path(self, code: str) -> Path:
        return self.directory / hashlib.sha256(code.encode()).hexdigest()


def login_codes(bdg_home: Path) -> LoginCodes:
    return LoginCodes(bdg_home / "login-codes")
