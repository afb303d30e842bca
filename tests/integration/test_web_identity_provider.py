"""Signing in to the web app with an identity provider's bearer token, in Debian's Chromium,
against a gateway that trusts the provider's RS256 public key (uvicorn on real PostgreSQL and
NATS). The token is what any OpenID Connect provider issues (RFC 7519 claims ``sub``, ``aud``,
``iss``, ``exp``, plus the ``tenant`` claim the README asks the provider to add), signed here
with a key made for the test since no provider is reachable.

Checked: there is no login link (``POST /auth/login`` is 501, saying to use the provider's
token), a token signed by another key brings the sign-in box back with the gateway's refusal,
what was typed is kept, the provider's token signs in and the goal becomes a job of its user."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from playwright.async_api import Browser, expect

from bdg_gateway.app import create_app
from tests.gateway_stack import Keys, Stack, new_tenant

pytestmark = pytest.mark.timeout(120)
ISSUER = "https://idp.example/realms/bdg"


@pytest.fixture(name="gateway")
def provider_gateway(stack: Stack, keys: Keys) -> FastAPI:
    return create_app(
        stack.commands, stack.queries, stack.nc, keys.authenticator("RS256", issuer=ISSUER)
    )


async def test_the_providers_bearer_token_signs_in_and_another_key_does_not(
    client: httpx.AsyncClient, keys: Keys, live_url: str, browser: Browser, artifacts: Path
) -> None:
    login = await client.post("/auth/login", json={"code": "anything"})
    assert login.status_code == 501
    assert "bearer token" in login.json()["detail"]

    tenant = new_tenant()
    forged_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = keys.token(tenant, sub="mallory", algorithm="RS256", key=forged_key, iss=ISSUER)
    token = keys.token(tenant, sub="dana", algorithm="RS256", expires_in=600, iss=ISSUER)
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(live_url.replace("ws://", "http://") + "/")
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("paste its bearer token")

    await page.get_by_label("Goal").fill("add a /health route")
    await dialog.get_by_label("Bearer token").fill(forged)
    await dialog.get_by_role("button", name="Use this token").click()
    # The app keeps the token until the gateway answers; its first call is refused (401).
    await expect(dialog).to_contain_text("no longer valid")
    await page.screenshot(path=artifacts / "forged-refused.png")

    await dialog.get_by_label("Bearer token").fill(token)
    await dialog.get_by_role("button", name="Use this token").click()
    await expect(dialog).to_have_count(0)
    assert await page.evaluate("localStorage.getItem('bdg.token')") == token
    await expect(page.get_by_label("Goal")).to_have_value("add a /health route")
    await page.get_by_role("button", name="Start job").click()
    await page.wait_for_url(re.compile(r"/app/jobs/[0-9a-f-]{36}$"))
    job_id = page.url.rsplit("/", 1)[1]
    job = await client.get(f"/jobs/{job_id}", headers={"Authorization": f"Bearer {token}"})
    assert job.status_code == 200, job.text
    assert (job.json()["tenant"], job.json()["user"]) == (tenant, "dana")
    await context.close()
