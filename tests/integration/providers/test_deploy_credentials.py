"""Deploy credentials through the gateway: a tenant admin sets them, nothing answers a token,
the token is encrypted at rest, bad fields are 422 naming them with nothing written, and other
tenants see nothing."""

from __future__ import annotations

import secrets
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from bdg_gateway.app import create_app
from bdg_jobs.deploy_credentials import CredentialKeyError, DeployCredentials, load_key
from tests.gateway_stack import Keys, Stack, new_tenant

pytestmark = pytest.mark.timeout(60)
ADMIN = {"roles": ["admin"]}
TOKEN = "vcp_" + "s3cr3t" * 6
VERCEL = {"token": TOKEN, "project": "shop", "team_id": "team_42"}
OCI = {"token": TOKEN, "repository": "acme/shop", "username": "ana"}


@pytest.fixture(name="key")
def key_fixture() -> bytes:
    return secrets.token_bytes(32)


@pytest.fixture(name="gateway")
def gateway_fixture(stack: Stack, keys: Keys, key: bytes) -> FastAPI:
    store = DeployCredentials(stack.queries.pool.connection, key)
    return create_app(
        stack.commands, stack.queries, stack.nc, keys.authenticator(), deploy_credentials=store
    )


async def rows(stack: Stack) -> list[tuple[Any, ...]]:
    async with stack.queries.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT tenant, provider, target, sealed FROM bdg_deploy_credentials"
        )
        return list(await cur.fetchall())


async def test_an_admin_sets_credentials_and_no_token_comes_back(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, key: bytes
) -> None:
    tenant = new_tenant()
    admin = keys.headers(tenant, **ADMIN)
    put = await client.put("/deploy/credentials/vercel", json=VERCEL, headers=admin)
    assert put.status_code == 200, put.text
    assert put.json()["settings"] == {"project": "shop", "team_id": "team_42"}
    assert put.json()["target"] == "production"
    listed = await client.get("/deploy/credentials", headers=admin)
    assert [v["provider"] for v in listed.json()] == ["vercel"]
    assert TOKEN not in put.text + listed.text

    [(_, _, _, sealed)] = await rows(stack)
    assert TOKEN.encode() not in bytes(sealed)  # encrypted at rest
    credential = await DeployCredentials(stack.queries.pool.connection, key).for_target(
        tenant, "production"
    )
    assert credential is not None
    assert credential.token.get_secret_value() == TOKEN
    assert TOKEN not in repr(credential)


async def test_one_provider_serves_a_target(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    admin = keys.headers(new_tenant(), **ADMIN)
    await client.put("/deploy/credentials/vercel", json=VERCEL, headers=admin)
    netlify = {"token": TOKEN, "site_id": "site-0b5c"}
    put = await client.put("/deploy/credentials/netlify", json=netlify, headers=admin)
    assert put.status_code == 200, put.text
    listed = {
        v["provider"]: v["target"]
        for v in (await client.get("/deploy/credentials", headers=admin)).json()
    }
    assert listed == {"netlify": "production", "vercel": None}
    gone = await client.delete("/deploy/credentials/netlify", headers=admin)
    assert gone.status_code == 204
    again = await client.delete("/deploy/credentials/netlify", headers=admin)
    assert again.status_code == 404


async def test_a_row_moved_to_another_tenant_does_not_open(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, key: bytes
) -> None:
    """The tenant and provider are the cipher's associated data."""
    tenant = new_tenant()
    await client.put(
        "/deploy/credentials/vercel", json=VERCEL, headers=keys.headers(tenant, **ADMIN)
    )
    other = new_tenant()
    async with stack.queries.pool.connection() as conn:
        await conn.execute("UPDATE bdg_deploy_credentials SET tenant = %s", (other,))
    store = DeployCredentials(stack.queries.pool.connection, key)
    with pytest.raises(CredentialKeyError):
        await store.get(other, "vercel")


async def test_not_an_admin_and_other_tenants_see_nothing(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    await client.put(
        "/deploy/credentials/vercel", json=VERCEL, headers=keys.headers(tenant, **ADMIN)
    )
    refused = await client.put(
        "/deploy/credentials/vercel", json=VERCEL, headers=keys.headers(tenant)
    )
    assert refused.status_code == 403, refused.text
    assert "admin" in refused.json()["detail"]
    other = await client.get("/deploy/credentials", headers=keys.headers(new_tenant(), **ADMIN))
    assert other.json() == []


@pytest.mark.parametrize(
    ("provider", "body", "field"),
    [
        ("vercel", {"token": TOKEN}, "body.project"),
        ("vercel", {**VERCEL, "site_id": "x"}, "body.site_id"),
        ("vercel", {**VERCEL, "token": "short"}, "body.token"),
        ("vercel", {**VERCEL, "token": TOKEN + "\x00"}, "body.token"),
        ("vercel", {**VERCEL, "project": "../../v9/teams"}, "body.project"),
        ("vercel", {**VERCEL, "target": "Prod Uction"}, "body.target"),
        ("netlify", {"token": TOKEN}, "body.site_id"),
        (
            "cloudflare-pages",
            {"token": TOKEN, "project": "shop", "account_id": "xyz"},
            "body.account_id",
        ),
        ("oci", {"token": TOKEN, "username": "ana"}, "body.repository"),
        ("oci", {**OCI, "repository": "Acme/Shop"}, "body.repository"),  # the spec: lower case
        ("oci", {**OCI, "repository": "acme/../v2"}, "body.repository"),
        ("oci", {**OCI, "repository": "https://evil.example/acme"}, "body.repository"),
        ("oci", {**OCI, "registry": "https://evil.example"}, "body.registry"),  # the operator's
        ("oci", {**OCI, "tag": "-latest"}, "body.tag"),
        ("oci", {**OCI, "tag": "t" * 129}, "body.tag"),
    ],
)
async def test_bad_fields_are_422_naming_them_and_write_nothing(
    client: httpx.AsyncClient,
    keys: Keys,
    stack: Stack,
    provider: str,
    body: dict[str, Any],
    field: str,
) -> None:
    headers = keys.headers(new_tenant(), **ADMIN)
    answer = await client.put(f"/deploy/credentials/{provider}", json=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith(field), answer.json()
    assert await rows(stack) == []


async def test_an_oci_repository_is_set_and_its_tag_defaults_to_production(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    admin = keys.headers(new_tenant(), **ADMIN)
    put = await client.put("/deploy/credentials/oci", json=OCI, headers=admin)
    assert put.status_code == 200, put.text
    assert put.json()["settings"] == {
        "repository": "acme/shop",
        "username": "ana",
        "tag": "production",
    }
    assert TOKEN not in put.text
    assert (await client.delete("/deploy/credentials/oci", headers=admin)).status_code == 204


async def test_an_unknown_provider_has_no_route(client: httpx.AsyncClient, keys: Keys) -> None:
    headers = keys.headers(new_tenant(), **ADMIN)
    answer = await client.put("/deploy/credentials/heroku", json=VERCEL, headers=headers)
    assert answer.status_code == 404, answer.text


def test_the_key_file_is_made_once_and_private(tmp_path: Path) -> None:
    first = load_key(tmp_path, environ={})
    assert load_key(tmp_path, environ={}) == first
    assert stat.S_IMODE((tmp_path / "credentials.key").stat().st_mode) == 0o600
    with pytest.raises(CredentialKeyError, match="BDG_CREDENTIALS_KEY"):
        load_key(tmp_path, environ={"BDG_CREDENTIALS_KEY": "too-short"})
