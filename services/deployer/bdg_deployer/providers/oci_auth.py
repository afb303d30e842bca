"""Credentials for a registry: what a 401's ``WWW-Authenticate`` asks for, and the token flow.

Docker Hub (and the CNCF distribution server with ``auth: token``) answers an anonymous request
with ``401`` and ``WWW-Authenticate: Bearer realm="...",service="...",scope="..."``; the client
then GETs ``realm?service=...&scope=repository:<name>:pull,push`` with its username and password
(a Docker Hub access token) as HTTP Basic, and sends the ``token`` (or ``access_token``) of the
JSON answer as ``Authorization: Bearer`` (distribution.github.io/distribution/spec/auth/token/,
"Requesting a Token" and "Token Response Fields"). A ``Basic`` challenge (``auth: htpasswd``)
takes the credentials directly.

The realm is named by the registry, so credentials go there only over https, or to the
registry's own host (a registry on a LAN, or the tests' loopback one).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from bdg_deployer.providers.http_retry import request

_PARAM = re.compile(r'(\w+)="([^"]*)"')


class RegistryAuthError(Exception):
    """The registry or its token server refused the credentials (401/403): no retry helps."""


@dataclass(frozen=True)
class RegistryAuth:
    username: str
    password: SecretStr  # on Docker Hub, a personal access token


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "bearer" or "basic", lower case
    params: dict[str, str]


def parse_challenge(header: str) -> Challenge:
    scheme, _, rest = header.strip().partition(" ")
    return Challenge(scheme.lower(), dict(_PARAM.findall(rest)))


def _realm_allowed(realm: str, registry: str) -> bool:
    parts, own = urlsplit(realm), urlsplit(registry)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname == own.hostname)


async def authorization(
    client: httpx.AsyncClient,
    registry: str,
    challenge: Challenge,
    repo: str,
    auth: RegistryAuth | None,
) -> str:
    """The ``Authorization`` header value that answers ``challenge`` for pushing to ``repo``."""
    if challenge.scheme == "basic":
        if auth is None:
            raise RegistryAuthError("the registry asks for a username and password: none is set")
        return basic_header(auth)
    if challenge.scheme != "bearer" or "realm" not in challenge.params:
        raise RegistryAuthError(f"unsupported registry challenge {challenge.scheme!r}")
    realm = challenge.params["realm"]
    if not _realm_allowed(realm, registry):
        raise RegistryAuthError(f"token realm {realm} is neither https nor the registry's host")
    query = {"scope": f"repository:{repo}:pull,push"}
    if "service" in challenge.params:
        query["service"] = challenge.params["service"]
    headers = {"Authorization": basic_header(auth)} if auth else {}
    answer = await request(client, "GET", realm, params=query, headers=headers)
    if answer.status_code in (401, 403):
        raise RegistryAuthError(f"token server {answer.status_code}: {message_of(answer)}")
    answer.raise_for_status()
    body = answer.json()
    token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise RegistryAuthError("the token server's answer has no token")
    return f"Bearer {token}"


def basic_header(auth: RegistryAuth) -> str:
    """RFC 7617: ``Basic base64(user:password)``."""
    pair = f"{auth.username}:{auth.password.get_secret_value()}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def message_of(answer: httpx.Response) -> str:
    """The server's own words (the distribution error body, or Docker Hub's ``details``)."""
    try:
        body = answer.json()
    except ValueError:
        return answer.text.strip()[:200]
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("message", ""))[:200]
        return str(body.get("details") or body.get("message") or "")[:200]
    return ""
