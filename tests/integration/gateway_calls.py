"""What the gateway's tests do through its API again and again: request a job and bring it to a
ready plan, register a repository for its webhook and deliver that repository's pushes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx

from bdg_gateway import webhook_payloads as wp
from bdg_jobs.domain import Cause, Job
from tests.gateway_stack import Keys, new_tenant
from tests.webhook_samples import encoded, gitea_push, github_push, gitlab_push, headers

WEBHOOK_PATH = "/webhooks/git"


async def create(client: httpx.AsyncClient, keys: Keys, tenant: str, **body: Any) -> dict[str, Any]:
    response = await client.post(
        "/jobs", json={"goal": "add a /health route", **body}, headers=keys.headers(tenant)
    )
    assert response.status_code == 201, response.text
    job: dict[str, Any] = response.json()
    return job


def plan_ready(job: Job, cause: Cause) -> None:
    job.make_plan_ready(cause, "# Plan\n1. add the route")


class Repo:
    """A repository registered through the API, and its provider's payloads."""

    def __init__(self, provider: wp.ProviderName, owner: str, registration: dict[str, Any]):
        self.provider, self.owner = provider, owner
        self.id, self.secret = UUID(registration["id"]), registration["webhook_secret"]

    def payload(self, **changes: Any) -> dict[str, Any]:
        if self.provider == "github":
            return github_push(owner=self.owner, name="app", **changes)
        maker = gitlab_push if self.provider == "gitlab" else gitea_push
        return maker(path=f"{self.owner}/app", **changes)


CLONE_URLS: dict[str, Callable[[str], str]] = {
    "github": lambda owner: f"https://github.com/{owner}/app.git",
    "gitlab": lambda owner: f"https://gitlab.example.com/{owner}/app.git",
    "gitea": lambda owner: f"http://localhost:3000/{owner}/app.git",
}


async def register(
    client: httpx.AsyncClient,
    keys: Keys,
    provider: wp.ProviderName = "github",
    tenant: str | None = None,
    owner: str | None = None,
    url: str | None = None,
    **body: Any,
) -> Repo:
    tenant, owner = tenant or new_tenant(), owner or new_tenant()
    response = await client.post(
        "/index/repos",
        json={"repo": url or CLONE_URLS[provider](owner), **body},
        headers=keys.headers(tenant),
    )
    assert response.status_code in (200, 201), response.text
    return Repo(provider, owner, response.json())


async def deliver(
    client: httpx.AsyncClient,
    repo: Repo,
    payload: dict[str, Any] | None = None,
    secret: str | None = None,
    body: bytes | None = None,
    **header_options: Any,
) -> httpx.Response:
    body = body if body is not None else encoded(payload or repo.payload())
    sent = headers(repo.provider, body, repo.secret if secret is None else secret, **header_options)
    return await client.post(WEBHOOK_PATH, content=body, headers=sent)
