"""What `bdg up` prints for the web app: a one-time login link for the local tenant and user.

On the embedded default nobody has configured a JWT key, so the gateway's HS256 secret is made
once and kept in BDG_HOME (0600); the gateway signs the session token the code is exchanged for.
With an identity provider (RS256/EdDSA) there is no link: the app takes that provider's token.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from bdg_cli.context import caller
from bdg_runtime.login_codes import login_codes
from bdg_runtime.settings import Settings

CODE_TTL_SECONDS = 15 * 60


def sign_in_env(settings: Settings, say: Callable[[str], None]) -> dict[str, str]:
    """The gateway's environment additions (its JWT secret, when none is configured)."""
    if settings.jwt_algorithm != "HS256":
        say("web app: sign in with a bearer token from your identity provider")
        return {}
    env = {} if settings.jwt_secret else {"JWT_SECRET": _local_secret(settings.bdg_home)}
    who = caller()
    code = login_codes(settings.bdg_home).issue(
        who.tenant_id, who.user_id, now=time.time(), ttl_seconds=CODE_TTL_SECONDS
    )
    host = settings.gateway_host if settings.gateway_host not in ("0.0.0.0", "::") else "127.0.0.1"
    say(
        f"web app: http://{host}:{settings.gateway_port}/#login={code} "
        f"(signs in {who.user_id} of tenant {who.tenant_id}; once, within 15 minutes)"
    )
    return env


def _local_secret(home: Path) -> str:
    path = home / "gateway-jwt-secret"
    if path.is_file():
        return path.read_text().strip()
    home.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    secret = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as file:
        file.write(secret)
    return secret
