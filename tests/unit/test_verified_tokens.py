"""The authenticator keeps tokens it verified; a kept token is still refused once expired."""

from __future__ import annotations

import secrets
import time

import jwt
import pytest

from bdg_gateway import auth
from bdg_gateway.auth import Authenticator, AuthError

pytestmark = pytest.mark.timeout(10)
SECRET = secrets.token_urlsafe(48)


def token(expires_in: float, key: str = SECRET) -> str:
    claims = {"sub": "alice", "tenant": "acme", "aud": "aud", "exp": time.time() + expires_in}
    return jwt.encode(claims, key, algorithm="HS256")


def test_a_verified_token_is_refused_once_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    authenticator = Authenticator.configure("HS256", secret=SECRET, audience="aud")
    kept = token(60)
    assert authenticator.authenticate(kept).tenant_id == "acme"
    assert authenticator.authenticate(kept).tenant_id == "acme"  # from what was kept
    later = time.time() + 60 + authenticator.leeway_seconds + 1
    monkeypatch.setattr(auth.time, "time", lambda: later)
    with pytest.raises(AuthError, match="token expired"):
        authenticator.authenticate(kept)


def test_only_valid_tokens_are_kept() -> None:
    authenticator = Authenticator.configure("HS256", secret=SECRET, audience="aud")
    forged = token(60, key=secrets.token_urlsafe(48))
    for _ in range(2):
        with pytest.raises(AuthError, match="signature is invalid"):
            authenticator.authenticate(forged)
    assert authenticator._verified == {}
