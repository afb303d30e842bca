"""JWT bearer authentication of the gateway: every refusal is a 401 that says why."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from bdg_gateway.app import create_app
from bdg_gateway.auth import AuthConfigError, Authenticator
from tests.gateway_stack import AUDIENCE, ISSUER, Keys, Stack, new_tenant

pytestmark = pytest.mark.timeout(60)


async def _client(stack: Stack, auth: Authenticator) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(stack.commands, stack.queries, stack.nc, auth)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        yield http


@pytest.fixture(params=["HS256", "RS256", "EdDSA"])
async def algorithm_client(
    request: pytest.FixtureRequest, stack: Stack, keys: Keys
) -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    algorithm: str = request.param
    async for http in _client(stack, keys.authenticator(algorithm)):
        yield algorithm, http


@pytest.fixture
async def issuer_client(stack: Stack, keys: Keys) -> AsyncIterator[httpx.AsyncClient]:
    async for http in _client(stack, keys.authenticator("RS256", issuer=ISSUER)):
        yield http


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _refusal(http: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await http.get("/jobs", headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    detail: str = response.json()["detail"]
    return detail


async def test_each_configured_algorithm_is_accepted(
    algorithm_client: tuple[str, httpx.AsyncClient], keys: Keys, stack: Stack
) -> None:
    algorithm, http = algorithm_client
    tenant = new_tenant()
    headers = keys.headers(tenant, sub="carol", algorithm=algorithm)
    created = await http.post("/jobs", json={"goal": algorithm}, headers=headers)
    assert created.status_code == 201, created.text
    assert (created.json()["tenant"], created.json()["user"]) == (tenant, "carol")
    assert (await http.get(f"/jobs/{created.json()['id']}", headers=headers)).status_code == 200


async def test_each_configured_algorithm_refuses_the_others(
    algorithm_client: tuple[str, httpx.AsyncClient], keys: Keys
) -> None:
    algorithm, http = algorithm_client
    for other in {"HS256", "RS256", "EdDSA"} - {algorithm}:
        detail = await _refusal(http, keys.headers(new_tenant(), algorithm=other))
        assert detail == f"token algorithm {other!r} is not accepted; expected {algorithm}"


async def test_missing_or_other_scheme_is_401(client: httpx.AsyncClient, keys: Keys) -> None:
    assert await _refusal(client, {}) == "missing bearer token"
    token = keys.token(new_tenant())
    assert await _refusal(client, {"Authorization": f"Basic {token}"}) == "missing bearer token"
    assert await _refusal(client, _bearer("not.a.jwt")) == "token is malformed"


async def test_tampered_token_is_401(client: httpx.AsyncClient, keys: Keys, stack: Stack) -> None:
    before = stack.event_count()
    header, payload, signature = keys.token("victim").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged = ".".join([header, _b64({**claims, "tenant": "attacker"}), signature])
    detail = await _refusal(client, _bearer(forged))
    assert detail == "token signature is invalid (tampered or signed with another key)"
    response = await client.post("/jobs", json={"goal": "x"}, headers=_bearer(forged))
    assert response.status_code == 401
    assert stack.event_count() == before


async def test_token_signed_with_another_key_is_401(
    algorithm_client: tuple[str, httpx.AsyncClient], keys: Keys
) -> None:
    algorithm, http = algorithm_client
    stranger: Any = {
        "HS256": "another-secret-that-is-long-enough-0123456789",
        "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "EdDSA": ed25519.Ed25519PrivateKey.generate(),
    }[algorithm]
    token = keys.token(new_tenant(), algorithm=algorithm, key=stranger)
    detail = await _refusal(http, _bearer(token))
    assert detail == "token signature is invalid (tampered or signed with another key)"


async def test_expired_token_is_401(client: httpx.AsyncClient, keys: Keys) -> None:
    token = keys.token(new_tenant(), expires_in=-3600)
    assert await _refusal(client, _bearer(token)) == "token expired"


async def test_wrong_audience_is_401(client: httpx.AsyncClient, keys: Keys) -> None:
    token = keys.token(new_tenant(), aud="someone-else")
    assert await _refusal(client, _bearer(token)) == "token audience is not accepted"


@pytest.mark.parametrize("claim", ["exp", "aud", "sub", "tenant"])
async def test_missing_required_claim_is_401(
    client: httpx.AsyncClient, keys: Keys, claim: str
) -> None:
    token = keys.token(new_tenant(), drop=(claim,))
    assert await _refusal(client, _bearer(token)) == f"token lacks the required claim {claim!r}"


@pytest.mark.parametrize("tenant", ["a.b", "*", "has space", "x" * 65, ""])
async def test_tenant_claim_must_be_a_subject_token(
    client: httpx.AsyncClient, keys: Keys, tenant: str
) -> None:
    detail = await _refusal(client, _bearer(keys.token(tenant)))
    assert detail.startswith("token claim 'tenant' must match")


async def test_alg_none_is_401(client: httpx.AsyncClient) -> None:
    token = jwt.encode(
        {"sub": "eve", "tenant": "acme", "aud": AUDIENCE, "exp": 4_000_000_000},
        "",
        algorithm="none",
    )
    detail = await _refusal(client, _bearer(token))
    assert detail == "token algorithm 'none' is not accepted; expected HS256"


async def test_rs256_public_key_as_hmac_secret_is_401(keys: Keys, stack: Stack) -> None:
    """The algorithm-confusion attack: an HS256 token keyed with the RS256 public key."""
    claims = {"sub": "eve", "tenant": "acme", "aud": AUDIENCE, "exp": 4_000_000_000}
    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64(claims)}"
    mac = hmac.new(keys.rsa_public_pem.encode(), signing_input.encode(), hashlib.sha256)
    forged = f"{signing_input}.{base64.urlsafe_b64encode(mac.digest()).rstrip(b'=').decode()}"
    async for http in _client(stack, keys.authenticator("RS256")):
        detail = await _refusal(http, _bearer(forged))
        assert detail == "token algorithm 'HS256' is not accepted; expected RS256"


async def test_issuer_is_checked_when_configured(
    issuer_client: httpx.AsyncClient, keys: Keys
) -> None:
    tenant = new_tenant()
    good = keys.headers(tenant, algorithm="RS256", iss=ISSUER)
    assert (await issuer_client.get("/jobs", headers=good)).status_code == 200
    wrong = keys.token(tenant, algorithm="RS256", iss="https://evil.test")
    assert await _refusal(issuer_client, _bearer(wrong)) == "token issuer is not accepted"
    missing = keys.token(tenant, algorithm="RS256")
    assert await _refusal(issuer_client, _bearer(missing)) == "token lacks the required claim 'iss'"


async def test_not_yet_valid_token_is_401(client: httpx.AsyncClient, keys: Keys) -> None:
    token = keys.token(new_tenant(), nbf=4_000_000_000)
    assert await _refusal(client, _bearer(token)) == "token is not valid yet"


async def test_every_job_route_needs_a_token(client: httpx.AsyncClient, keys: Keys) -> None:
    job_id = "00000000-0000-0000-0000-000000000001"
    for method, path in [
        ("POST", "/jobs"),
        ("GET", "/jobs"),
        ("GET", f"/jobs/{job_id}"),
        ("GET", f"/jobs/{job_id}/events"),
        ("POST", f"/jobs/{job_id}/plan"),
        ("POST", f"/jobs/{job_id}/plan/approve"),
        ("POST", f"/jobs/{job_id}/deploy/approve"),
        ("POST", f"/jobs/{job_id}/pause"),
        ("POST", f"/jobs/{job_id}/resume"),
        ("POST", f"/jobs/{job_id}/cancel"),
        ("POST", f"/jobs/{job_id}/retry"),
        ("POST", f"/jobs/{job_id}/rollback"),
        ("POST", f"/jobs/{job_id}/budget"),
        ("GET", "/jobs/not-a-uuid"),  # authentication comes before validation
    ]:
        response = await client.request(method, path, json={"goal": ""})
        assert response.status_code == 401, (method, path)
        assert response.json() == {"detail": "missing bearer token"}


@pytest.mark.parametrize(
    ("algorithm", "kwargs", "message"),
    [
        ("HS256", {}, "needs JWT_SECRET"),
        ("HS256", {"secret": "too-short"}, "at least 32 bytes"),
        ("RS256", {}, "needs JWT_PUBLIC_KEY"),
        ("EdDSA", {"public_key": "-----BEGIN PUBLIC KEY-----\nnope\n"}, "not a PEM public key"),
        ("HS512", {"secret": "x" * 40}, "JWT_ALGORITHM must be one of"),
    ],
)
def test_configuration_without_a_usable_key_is_refused(
    algorithm: str, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(AuthConfigError, match=message):
        Authenticator.configure(algorithm, audience=AUDIENCE, **kwargs)


def test_a_key_of_the_wrong_type_is_refused(keys: Keys) -> None:
    with pytest.raises(AuthConfigError, match="not a key for EdDSA"):
        Authenticator.configure("EdDSA", public_key=keys.rsa_public_pem, audience=AUDIENCE)
    with pytest.raises(AuthConfigError, match="not a key for RS256"):
        Authenticator.configure("RS256", public_key=keys.ed_public_pem, audience=AUDIENCE)
