"""``issues`` webhooks through ``POST /webhooks/git`` (in-process ASGI) over real PostgreSQL
and NATS: a signed issue with the tenant's label starts one job; a bad signature is 401 and a
label not configured is ignored, both with nothing written; a redelivery starts nothing more."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from bdg_contracts import events as ev
from bdg_contracts.clone_hosts import CloneHosts
from bdg_gateway import webhook_payloads as wp
from bdg_gateway.app import create_app
from bdg_gateway.issue_settings import HostAccess, IssueTriggers, TenantIssues
from bdg_jobs.sources import SourceRules
from bdg_jobs.user_commands import JobCommands
from tests.gateway_stack import Keys, Stack, new_tenant
from tests.integration.gateway_calls import CLONE_URLS, Repo, register
from tests.issue_samples import TITLE, gitea_issue, github_issue
from tests.webhook_samples import encoded, headers

pytestmark = pytest.mark.timeout(60)
PATH = "/webhooks/git"


@pytest.fixture(name="tenant")
def tenant_fixture() -> str:
    return new_tenant()


@pytest.fixture(name="gateway")
def gateway_fixture(stack: Stack, keys: Keys, tenant: str) -> FastAPI:
    """``tenant`` starts jobs from issues labelled ``agent`` on GitHub and Gitea; Gitea's
    samples name a server on localhost, allowed as an operator with a LAN Gitea allows it."""
    sources = SourceRules(clone_hosts=CloneHosts.parse("localhost"))
    commands = JobCommands(stack.app, stack.commands.redrive, sources=sources)
    access = HostAccess(token="test-token", api_url="http://127.0.0.1:9/api/v1")
    triggers = IssueTriggers(
        tenants={tenant: TenantIssues(label="agent", github=access, gitea=access)}
    )
    return create_app(commands, stack.queries, stack.nc, keys.authenticator(), None, triggers)


def issue_payload(repo: Repo, **changes: Any) -> dict[str, Any]:
    if repo.provider == "github":
        return github_issue(owner=repo.owner, labels=("agent",), **changes) | {
            "repository": github_issue(owner=repo.owner)["repository"]
            | {"full_name": f"{repo.owner}/app", "clone_url": CLONE_URLS["github"](repo.owner)}
        }
    return gitea_issue(path=f"{repo.owner}/app", labels=("agent",), **changes)


async def deliver_issue(
    client: httpx.AsyncClient, repo: Repo, payload: dict[str, Any], secret: str | None = None,
    delivery: str = "issue-delivery-1",
) -> httpx.Response:  # fmt: skip
    body = encoded(payload)
    sent = headers(repo.provider, body, secret or repo.secret, delivery=delivery, event="issues")
    return await client.post(PATH, content=body, headers=sent)


def issue_rows(stack: Stack) -> list[tuple[str, str, str, int]]:
    with psycopg.connect(stack.database_url) as conn:
        rows = conn.execute(
            "SELECT job_id, provider, full_name, issue_number FROM bdg_issue_jobs"
        ).fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


@pytest.mark.parametrize("provider", ["github", "gitea"])
async def test_a_labelled_issue_starts_a_job_with_its_title_and_body(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, tenant: str, provider: wp.ProviderName
) -> None:
    repo = await register(client, keys, provider, tenant=tenant)
    response = await deliver_issue(client, repo, issue_payload(repo))
    assert response.status_code == 202, response.text
    [job_id] = [UUID(j) for j in response.json()["jobs"]]
    [requested, *_] = stack.store.history(job_id)
    assert isinstance(requested, ev.JobRequested)
    assert requested.goal == f"{TITLE}\n\nNotes survive a reload."
    assert requested.repo == CLONE_URLS[provider](repo.owner).removesuffix(".git")  # registered
    assert (requested.tenant_id, requested.user_id) == (tenant, f"webhook:{provider}")
    number = 1 if provider == "github" else 3
    assert issue_rows(stack) == [(str(job_id), provider, f"{repo.owner}/app", number)]


async def test_a_redelivery_and_the_labeled_event_start_no_second_job(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, tenant: str
) -> None:
    repo = await register(client, keys, "github", tenant=tenant)
    first = await deliver_issue(client, repo, issue_payload(repo))
    assert first.status_code == 202
    before = stack.event_count()
    again = await deliver_issue(client, repo, issue_payload(repo))
    assert again.status_code == 200, again.text
    assert again.json()["duplicate"] is True
    assert again.json()["jobs"] == first.json()["jobs"]
    # GitHub sends "labeled" too for an issue opened with a label: the same job.
    labeled = issue_payload(repo, action="labeled")
    also = await deliver_issue(client, repo, labeled, delivery="issue-delivery-2")
    assert also.json()["jobs"] == first.json()["jobs"]
    assert stack.event_count() == before
    assert len(issue_rows(stack)) == 1


@pytest.mark.parametrize("provider", ["github", "gitea"])
async def test_a_bad_signature_is_401_and_starts_no_job(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, tenant: str, provider: wp.ProviderName
) -> None:
    repo = await register(client, keys, provider, tenant=tenant)
    before = stack.event_count()
    response = await deliver_issue(client, repo, issue_payload(repo), secret="not-the-secret")
    assert response.status_code == 401, response.text
    body = encoded(issue_payload(repo))
    unsigned = headers(provider, body, "", event="issues")
    assert (await client.post(PATH, content=body, headers=unsigned)).status_code == 401
    assert stack.event_count() == before
    assert issue_rows(stack) == []


async def test_an_issue_without_the_configured_label_is_ignored(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, tenant: str
) -> None:
    repo = await register(client, keys, "github", tenant=tenant)
    before = stack.event_count()
    payload = issue_payload(repo)
    payload["issue"]["labels"] = [{"id": 1, "name": "bdg"}]  # a label, not this tenant's
    response = await deliver_issue(client, repo, payload)
    assert response.status_code == 202, response.text
    assert response.json()["jobs"] == []
    assert "does not carry the label 'agent'" in response.json()["ignored"]
    closed = await deliver_issue(client, repo, issue_payload(repo, action="closed"))
    assert "'closed' starts no job" in closed.json()["ignored"]
    assert stack.event_count() == before
    assert issue_rows(stack) == []


async def test_a_tenant_without_issue_triggers_gets_no_job(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    repo = await register(client, keys, "github", tenant=new_tenant())
    before = stack.event_count()
    response = await deliver_issue(client, repo, issue_payload(repo))
    assert response.status_code == 202
    assert response.json()["ignored"] == "no issue trigger is configured for github"
    assert stack.event_count() == before


async def test_an_issue_too_long_for_a_goal_is_422_naming_it(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, tenant: str
) -> None:
    repo = await register(client, keys, "github", tenant=tenant)
    before = stack.event_count()
    response = await deliver_issue(client, repo, issue_payload(repo, body="x" * 10_001))
    assert response.status_code == 422, response.text
    assert "goal (the issue's title and body)" in response.json()["detail"]
    broken = issue_payload(repo)
    broken["issue"]["number"] = "seven"
    bad = await deliver_issue(client, repo, broken)
    assert bad.status_code == 400
    assert "'issue.number'" in bad.json()["detail"]
    assert stack.event_count() == before
    assert issue_rows(stack) == []
