"""The web app at ``/`` beside the API, and the one-time login code exchanged for a token."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import jwt
import pytest
from fastapi import FastAPI

from bdg_gateway.app import create_app
from bdg_gateway.web_static import DIST
from bdg_runtime.login_codes import login_codes
from tests.gateway_stack import AUDIENCE, Keys, Stack, new_tenant

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BDG_HOME", str(tmp_path))
    return tmp_path


async def test_the_app_and_its_client_routes_answer_index_html_with_a_strict_csp(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/", "/app", f"/app/jobs/{uuid.uuid4()}"):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["cache-control"] == "no-cache"
        policy = page.headers["content-security-policy"]
        csp = dict(d.partition(" ")[::2] for d in policy.split("; "))
        assert csp["default-src"] == "'none'"
        assert csp["script-src"] == "'self'"  # no inline script, no eval
        assert csp["worker-src"] == "'self'"  # no blob: workers
        assert csp["style-src"] == "'self' 'unsafe-inline'"  # Monaco's diff editor only
        assert csp["connect-src"] == "'self'"
        assert csp["frame-ancestors"] == "'none'"
        assert '<div id="root">' in page.text


async def test_hashed_assets_are_cached_with_their_content_type(
    client: httpx.AsyncClient,
) -> None:
    [script] = [p.name for p in (DIST / "assets").glob("index-*.js")]
    [style] = [p.name for p in (DIST / "assets").glob("index-*.css")]
    js = await client.get(f"/assets/{script}")
    assert js.status_code == 200
    assert js.headers["content-type"] == "text/javascript; charset=utf-8"
    assert js.headers["cache-control"] == "public, max-age=31536000, immutable"
    css = await client.get(f"/assets/{style}")
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    for missing in ("nope.js", "../index.html", "..%2F..%2Fapp.py"):
        assert (await client.get(f"/assets/{missing}")).status_code == 404, missing


async def test_api_routes_are_not_shadowed(client: httpx.AsyncClient) -> None:
    html = {"Accept": "text/html"}
    job = await client.get(f"/jobs/{uuid.uuid4()}", headers=html)
    assert job.status_code == 401
    assert job.headers["content-type"] == "application/json"
    assert (await client.get("/openapi.json")).json()["paths"].get("/") is None
    assert (await client.get("/nowhere")).status_code == 404


async def test_a_login_code_becomes_a_session_token_once(
    client: httpx.AsyncClient, home: Path
) -> None:
    tenant = new_tenant()
    code = login_codes(home).issue(tenant, "carol", now=time.time(), ttl_seconds=60)
    answer = await client.post("/auth/login", json={"code": code})
    assert answer.status_code == 200, answer.text
    session = answer.json()
    assert (session["tenant"], session["user"]) == (tenant, "carol")
    claims = jwt.decode(session["token"], options={"verify_signature": False})
    assert claims["aud"] == AUDIENCE
    assert claims["exp"] > time.time() + 3600
    headers = {"Authorization": f"Bearer {session['token']}"}
    created = await client.post("/jobs", json={"goal": "add a route"}, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["tenant"] == tenant

    again = await client.post("/auth/login", json={"code": code})
    assert again.status_code == 401
    assert "unknown or already used" in again.json()["detail"]


async def test_two_concurrent_redemptions_give_one_token(
    client: httpx.AsyncClient, home: Path
) -> None:
    code = login_codes(home).issue(new_tenant(), "dan", now=time.time(), ttl_seconds=60)
    answers = await asyncio.gather(
        *(client.post("/auth/login", json={"code": code}) for _ in range(8))
    )
    assert sorted(a.status_code for a in answers) == [200] + [401] * 7


async def test_expired_malformed_and_missing_codes_are_refused(
    client: httpx.AsyncClient, home: Path
) -> None:
    old = login_codes(home).issue(new_tenant(), "erin", now=time.time() - 120, ttl_seconds=60)
    expired = await client.post("/auth/login", json={"code": old})
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]
    malformed = await client.post("/auth/login", json={"code": "../../etc/passwd"})
    assert malformed.status_code == 401
    assert "malformed" in malformed.json()["detail"]
    missing = await client.post("/auth/login", json={})
    assert missing.status_code == 422
    assert "code" in missing.text


async def test_with_an_identity_provider_there_is_no_local_sign_in(
    stack: Stack, keys: Keys, home: Path
) -> None:
    app: FastAPI = create_app(stack.commands, stack.queries, stack.nc, keys.authenticator("RS256"))
    code = login_codes(home).issue(new_tenant(), "fay", now=time.time(), ttl_seconds=60)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        answer = await http.post("/auth/login", json={"code": code})
    assert answer.status_code == 501
    assert "identity provider" in answer.json()["detail"]
    # The code was not burnt by a gateway that could not use it.
    assert login_codes(home).redeem(code, now=time.time()).user_id == "fay"
