"""`bdg up`'s one-time login link: a code the gateway can redeem, and a JWT key when none is set."""

from __future__ import annotations

import re
import stat
import time
from pathlib import Path

import pytest

from bdg_cli.web_sign_in import sign_in_env
from bdg_runtime.login_codes import login_codes
from bdg_runtime.settings import Settings

pytestmark = pytest.mark.timeout(30)


def test_prints_a_link_whose_code_signs_in_the_local_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JWT_SECRET", raising=False)
    monkeypatch.setenv("BDG_TENANT", "local")
    monkeypatch.setenv("BDG_USER", "gina")
    said: list[str] = []
    settings = Settings(bdg_home=tmp_path, gateway_port=8099, jwt_secret=None)
    env = sign_in_env(settings, said.append)
    [line] = said
    match = re.search(r"http://127\.0\.0\.1:8099/#login=([A-Za-z0-9_-]+) ", line)
    assert match, line
    grant = login_codes(tmp_path).redeem(match[1], now=time.time())
    assert (grant.tenant_id, grant.user_id) == ("local", "gina")
    # No key configured: one is made, kept private, and the same on the next `bdg up`.
    secret_file = tmp_path / "gateway-jwt-secret"
    assert env == {"JWT_SECRET": secret_file.read_text()}
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert sign_in_env(settings, said.append) == env


def test_a_configured_secret_is_left_alone(tmp_path: Path) -> None:
    settings = Settings(bdg_home=tmp_path, jwt_secret="s" * 40)
    assert sign_in_env(settings, lambda line: None) == {}
    assert not (tmp_path / "gateway-jwt-secret").exists()


def test_no_link_with_an_identity_provider(tmp_path: Path) -> None:
    said: list[str] = []
    settings = Settings(bdg_home=tmp_path, jwt_algorithm="RS256")
    assert sign_in_env(settings, said.append) == {}
    assert said == ["web app: sign in with a bearer token from your identity provider"]
    assert not (tmp_path / "login-codes").exists()
