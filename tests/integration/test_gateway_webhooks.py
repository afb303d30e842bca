"""``POST /webhooks/git`` in-process (ASGI) over a real PostgreSQL and NATS: signed pushes of
each provider become RepoPushed; every refusal leaves the log as it was."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from nats.aio.msg import Msg

from bdg_contracts import index_events as ix
from bdg_contracts import subjects, wire
from bdg_contracts.base import Event
from bdg_contracts.clone_hosts import CloneHosts
from bdg_gateway import webhook_payloads as wp
from bdg_gateway.app import create_app
from bdg_jobs.sources import SourceRules
from bdg_jobs.user_commands import JobCommands
from tests.gateway_stack import Keys, Stack, new_tenant
from tests.integration.gateway_calls import Repo, deliver, register
from tests.webhook_samples import (
    AFTER,
    BEFORE,
    ZERO,
    encoded,
    github_push,
    headers,
)

pytestmark = pytest.mark.timeout(60)
PATH = "/webhooks/git"


@pytest.fixture(name="gateway")
def gateway_fixture(stack: Stack, keys: Keys) -> FastAPI:
    """Gitea's sample payloads name a server on localhost: an internal host, allowed here as an
    operator with a LAN Gitea allows it (BDG_CLONE_ALLOW_HOSTS)."""
    sources = SourceRules(clone_hosts=CloneHosts.parse("localhost"))
    commands = JobCommands(stack.app, stack.commands.redrive, sources=sources)
    return create_app(commands, stack.queries, stack.nc, keys.authenticator())


def pushes(stack: Stack, repo_id: UUID) -> list[ix.RepoPushed]:
    return [e for e in stack.store.history(repo_id) if isinstance(e, ix.RepoPushed)]


@pytest.mark.parametrize(
    ("provider", "ref", "pusher"),
    [("github", "refs/heads/main", "{owner}"), ("gitlab", "refs/heads/master", "jsmith"),
     ("gitea", "refs/heads/develop", "gitea")],
)  # fmt: skip
async def test_a_signed_push_of_each_provider_is_recorded(
    client: httpx.AsyncClient,
    keys: Keys,
    stack: Stack,
    provider: wp.ProviderName,
    ref: str,
    pusher: str,
) -> None:
    repo = await register(client, keys, provider)
    response = await deliver(client, repo, delivery=f"{provider}-delivery-1")
    assert response.status_code == 202, response.text
    assert response.json() == {
        "repos": [str(repo.id)],
        "jobs": [],
        "duplicate": False,
        "ignored": None,
    }
    [push] = pushes(stack, repo.id)
    assert (push.provider, push.delivery_id, push.ref) == (provider, f"{provider}-delivery-1", ref)
    assert (push.before, push.after) == (BEFORE, AFTER)
    assert push.pusher == pusher.format(owner=repo.owner)  # GitHub's sample: the owner pushed
    assert push.producer == f"webhook:{provider}"
    assert push.version == 2  # after RepoRegistered


async def test_the_push_is_published_for_the_indexer(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    repo = await register(client, keys, tenant=tenant)
    heard: asyncio.Queue[Event] = asyncio.Queue()

    async def received(msg: Msg) -> None:
        heard.put_nowait(wire.decode(msg.headers or {}, msg.data))

    subscription = await stack.nc.subscribe(subjects.job_events(tenant, repo.id), cb=received)
    try:
        assert (await deliver(client, repo)).status_code == 202
        event = await asyncio.wait_for(heard.get(), 10)
    finally:
        await subscription.unsubscribe()
    assert isinstance(event, ix.RepoPushed)
    assert (event.job_id, event.after) == (repo.id, AFTER)


async def test_a_new_branch_push_records_no_before(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    repo = await register(client, keys)
    assert (await deliver(client, repo, repo.payload(before=ZERO))).status_code == 202
    assert pushes(stack, repo.id)[0].before is None


async def test_any_url_of_the_repository_finds_its_registration(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    owner = new_tenant()
    repo = await register(client, keys, owner=owner, url=f"git@github.com:{owner}/app.git")
    assert (await deliver(client, repo)).status_code == 202
    assert len(pushes(stack, repo.id)) == 1


async def test_a_registration_typed_in_lower_case_is_found(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    owner = "Mixed" + new_tenant()
    repo = await register(client, keys, owner=owner, url=f"https://github.com/{owner.lower()}/app")
    assert (await deliver(client, repo)).status_code == 202  # the payload spells it "Mixed..."
    assert len(pushes(stack, repo.id)) == 1


async def test_two_tenants_of_one_repository_each_get_only_their_own_pushes(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    owner = new_tenant()
    mine = await register(client, keys, owner=owner)
    theirs = await register(client, keys, owner=owner)
    assert mine.id != theirs.id
    assert mine.secret != theirs.secret
    response = await deliver(client, mine)
    assert response.json()["repos"] == [str(mine.id)]
    assert (len(pushes(stack, mine.id)), len(pushes(stack, theirs.id))) == (1, 0)


@pytest.mark.parametrize("provider", ["github", "gitlab", "gitea"])
async def test_a_wrong_secret_is_401_and_writes_nothing(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, provider: wp.ProviderName
) -> None:
    repo = await register(client, keys, provider)
    before = stack.event_count()
    response = await deliver(client, repo, secret="not-the-secret")
    assert response.status_code == 401, response.text
    assert response.json()["detail"] == "no registration of this repository accepts this signature"
    assert stack.event_count() == before


@pytest.mark.parametrize("provider", ["github", "gitlab", "gitea"])
async def test_an_unsigned_push_is_401_and_writes_nothing(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, provider: wp.ProviderName
) -> None:
    repo = await register(client, keys, provider)
    before = stack.event_count()
    response = await deliver(client, repo, secret="")
    assert response.status_code == 401
    assert response.json()["detail"].startswith("unsigned: no X-")
    assert stack.event_count() == before


async def test_a_tampered_body_is_401(client: httpx.AsyncClient, keys: Keys, stack: Stack) -> None:
    repo = await register(client, keys)
    body = encoded(repo.payload())
    sent = headers("github", body, repo.secret)
    tampered = body.replace(AFTER.encode(), ("e" * 40).encode())
    before = stack.event_count()
    response = await client.post(PATH, content=tampered, headers=sent)
    assert response.status_code == 401
    assert stack.event_count() == before


async def test_an_unknown_repository_is_401_like_a_wrong_secret(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    repo = await register(client, keys)
    stranger = Repo("github", new_tenant(), {"id": str(repo.id), "webhook_secret": repo.secret})
    before = stack.event_count()
    response = await deliver(client, stranger)
    assert response.status_code == 401
    assert response.json()["detail"] == "no registration of this repository accepts this signature"
    assert stack.event_count() == before


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{", "the body is not JSON"),
        (b'"push"', "not a JSON object"),
        (json.dumps({"ref": "refs/heads/main"}).encode(), "'before' must be a full commit SHA"),
        (encoded({**github_push(), "repository": "x"}), "lacks the object 'repository'"),
        (encoded(github_push(after="HEAD")), "'after' must be a full commit SHA"),
    ],
)
async def test_a_malformed_payload_is_400_naming_the_problem(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, body: bytes, problem: str
) -> None:
    repo = await register(client, keys)
    before = stack.event_count()
    response = await deliver(client, repo, body=body)
    assert response.status_code == 400
    assert problem in response.json()["detail"]
    assert stack.event_count() == before


async def test_a_request_of_no_provider_is_400(client: httpx.AsyncClient, stack: Stack) -> None:
    before = stack.event_count()
    response = await client.post(PATH, content=encoded(github_push()))
    assert response.status_code == 400
    assert "X-GitHub-Event" in response.json()["detail"]
    assert stack.event_count() == before


async def test_a_redelivery_is_a_duplicate_and_writes_nothing(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    repo = await register(client, keys, "gitlab")
    assert (await deliver(client, repo, delivery="once")).status_code == 202
    before = stack.event_count()
    again = await deliver(client, repo, delivery="once")
    assert again.status_code == 200
    assert again.json() == {"repos": [str(repo.id)], "jobs": [], "duplicate": True, "ignored": None}
    # The same commit pushed under another delivery id is the same push.
    other = await deliver(client, repo, delivery="twice")
    assert other.status_code == 200
    assert other.json()["duplicate"] is True
    assert stack.event_count() == before
    assert len(pushes(stack, repo.id)) == 1


async def test_a_push_to_another_branch_is_ignored(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    repo = await register(client, keys)
    before = stack.event_count()
    response = await deliver(client, repo, repo.payload(ref="refs/heads/feature"))
    assert response.status_code == 202
    assert response.json()["ignored"] == (
        "a push to refs/heads/feature; the repository is indexed at refs/heads/main"
    )
    assert response.json()["repos"] == []
    assert stack.event_count() == before


async def test_a_registration_at_a_branch_follows_that_branch(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    repo = await register(client, keys, "gitea", ref="release")
    assert (await deliver(client, repo)).json()["ignored"] is not None  # develop, the default
    response = await deliver(client, repo, repo.payload(ref="refs/heads/release"))
    assert response.json()["repos"] == [str(repo.id)]


@pytest.mark.parametrize("provider", ["github", "gitlab", "gitea"])
async def test_a_deleted_branch_is_ignored(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, provider: wp.ProviderName
) -> None:
    repo = await register(client, keys, provider)
    deletion: dict[str, Any] = {"after": ZERO}
    if provider == "github":
        deletion["deleted"] = True
    if provider == "gitlab":
        deletion["checkout_sha"] = None
    before = stack.event_count()
    response = await deliver(client, repo, repo.payload(**deletion))
    assert response.status_code == 202
    assert response.json()["ignored"].endswith("was deleted")
    assert stack.event_count() == before


async def test_a_ping_is_answered_and_writes_nothing(
    client: httpx.AsyncClient, stack: Stack
) -> None:
    before = stack.event_count()
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    response = await client.post(PATH, content=body, headers=headers("github", body, event="ping"))
    assert response.status_code == 200
    assert stack.event_count() == before


async def test_other_events_are_ignored(client: httpx.AsyncClient, stack: Stack) -> None:
    body = b'{"action": "opened"}'
    sent = headers("gitlab", body, event="Merge Request Hook")
    response = await client.post(PATH, content=body, headers=sent)
    assert response.status_code == 202
    assert response.json()["ignored"] == "gitlab event 'Merge Request Hook' is not a push"


async def test_an_oversized_body_is_413_and_writes_nothing(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    repo = await register(client, keys)
    padding = "x" * (wp.MAX_BODY_BYTES + 1)
    body = encoded(repo.payload(padding=padding))
    before = stack.event_count()
    response = await client.post(PATH, content=body, headers=headers("github", body, repo.secret))
    assert response.status_code == 413

    async def chunks() -> Any:  # no Content-Length: the cap holds while reading
        for start in range(0, len(body), 1 << 20):
            yield body[start : start + (1 << 20)]

    streamed = await client.post(
        PATH, content=chunks(), headers=headers("github", body, repo.secret)
    )
    assert streamed.status_code == 413
    assert stack.event_count() == before
