"""Tenant A's token on tenant B's resources, on every route and WebSocket of the gateway.

The routes are enumerated from the FastAPI app itself, and each must have a row in ``ROUTES``
saying how it is tried: a route added without one fails ``test_every_route_is_classified``, so
no route can forget the tenant unnoticed. B owns a job (paused on a gated tool call, with a plan
and a first attempt), an indexed repository and a sandbox workspace with a file. Every probe
that names B's resource answers 404 (4404 on a WebSocket) and writes nothing (the event store's
row count is unchanged); probes that create act on A's own namespace and leave B's as it was.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.routing import BaseRoute, Route
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bdg_audit.reader import AuditReader
from bdg_gateway.app import create_app
from bdg_gateway.web_static import DIST
from bdg_jobs.personal.cipher import ERASED
from bdg_sandbox.client import SandboxClient
from bdg_tools import outcomes as oc
from bdg_tools.spec import ToolContext
from tests.gateway_stack import Keys, Stack, new_tenant
from tests.integration.audit_rig import AuditRig
from tests.integration.tool_jobs import COMMAND, Counting, caller_for, coding_job
from tests.site_history import BuiltSite, project_sites, site_in_canary
from tests.webhook_samples import encoded, github_push, headers

pytestmark = pytest.mark.timeout(120)
SANDBOX = "/agent/sandbox"
FILE = "secret.txt"


@pytest.fixture(name="gateway")
def gateway_fixture(
    stack: Stack, keys: Keys, sandbox: SandboxClient, audit_rig: AuditRig
) -> FastAPI:
    app = create_app(stack.commands, stack.queries, stack.nc, keys.authenticator(), sandbox)
    # The audit routes read the real SeaweedFS of the audit tests, not one under BDG_HOME.
    app.state.audit = AuditReader(audit_rig.objects, stack.database_url, "audit")
    return app


@dataclass
class World:
    """Tenant B's resources, and tenant A's client."""

    client: httpx.AsyncClient
    keys: Keys
    stack: Stack
    live_url: str
    a: str
    b: str
    job: UUID
    call: str
    repo: UUID
    repo_url: str
    secret: str
    workspace: str
    ended: UUID  # a job of B's that ended, with its signed audit file
    site: BuiltSite  # a site of B's: a stable release and one in canary

    def fill(self, path: str) -> str:
        return path.replace("{path:path}", "{path}").format(
            job_id=self.job, call_id=self.call, repo_id=self.repo, workspace=self.workspace,
            number=1, path=FILE, user="alice", digest="a" * 64, site_id=self.site.site_id,
            release=self.site.canary,
        )  # fmt: skip

    async def as_a(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.keys.headers(self.a), **kwargs.pop("headers", {})}
        return await self.client.request(method, self.fill(path), headers=headers, **kwargs)

    async def b_state(self) -> tuple[Any, ...]:
        """Everything of B's a probe could change."""
        job = await asyncio.to_thread(self.stack.store.history, self.job)
        repo = await asyncio.to_thread(self.stack.store.history, self.repo)
        site = await asyncio.to_thread(self.stack.store.history, self.site.site_id)
        read = await self.client.get(
            f"{SANDBOX}/workspaces/{self.workspace}/files/{FILE}", headers=self.keys.headers(self.b)
        )
        return len(job), len(repo), len(site), read.status_code, read.content


Probe = Callable[[World, str, str], Awaitable[None]]
"""Tries one route (method, path template) as tenant A against tenant B's resources."""


async def not_found(world: World, method: str, path: str, **kwargs: Any) -> None:
    before = world.stack.event_count()
    response = await world.as_a(method, path, **kwargs)
    assert response.status_code == 404, (method, path, response.status_code, response.text)
    assert world.stack.event_count() == before, (method, path, "wrote an event")


def not_found_with(**kwargs: Any) -> Probe:
    async def probe(world: World, method: str, path: str) -> None:
        await not_found(world, method, path, **kwargs)

    return probe


async def lists_only_a(world: World, method: str, path: str) -> None:
    response = await world.as_a(method, path)
    assert response.status_code == 200, response.text
    site = world.site
    for secret in (str(world.job), str(world.repo), world.b, world.secret, str(site.site_id)):
        assert secret not in response.text, (path, secret)
    assert site.canary not in response.text
    assert site.stable not in response.text


async def creates_a_job_of_a(world: World, method: str, path: str) -> None:
    response = await world.as_a(method, path, json={"goal": "mine"})
    assert response.status_code == 201, response.text
    assert response.json()["tenant"] == world.a


async def registers_for_a(world: World, method: str, path: str) -> None:
    """B's repository registered by A is A's own registration: B's id and secret stay B's."""
    response = await world.as_a(method, path, json={"repo": world.repo_url})
    assert response.status_code == 201, response.text
    assert response.json()["id"] != str(world.repo)
    assert response.json()["webhook_secret"] != world.secret


async def caps_only_a(world: World, method: str, path: str) -> None:
    """A's admin sets A's cap; B's tenant and B's user of the same name keep none."""
    headers = world.keys.headers(world.a, roles=["admin"])
    response = await world.as_a(method, path, json={"cap_usd": 0}, headers=headers)
    assert response.status_code == 200, response.text
    seen = await world.client.get("/budgets", headers=world.keys.headers(world.b))
    assert seen.status_code == 200, seen.text
    assert (seen.json()["tenant"]["cap_usd"], seen.json()["user"]["cap_usd"]) == (None, None)


async def search_of_b_repo(world: World, method: str, path: str) -> None:
    await not_found(world, method, path, params={"q": "ledger", "repo": str(world.repo)})


async def webhook_without_b_secret(world: World, method: str, path: str) -> None:
    """No JWT here: the credential is B's secret, which A does not have."""
    before = world.stack.event_count()
    owner, name = world.repo_url.removesuffix(".git").split("/")[-2:]
    body = encoded(github_push(owner=owner, name=name))
    sent = headers("github", body, secret=world.a, delivery=f"d-{world.a}")
    response = await world.client.post(path, content=body, headers=sent)
    assert response.status_code == 401, response.text
    assert world.stack.event_count() == before


async def public_without_tenant_data(world: World, method: str, path: str) -> None:
    response = await world.client.request(method, path)
    assert response.status_code == 200, (path, response.text)
    for secret in (str(world.job), str(world.repo), world.b):
        assert secret not in response.text


async def login_without_b_code(world: World, method: str, path: str) -> None:
    """No JWT here: the credential is a one-time code of `bdg up`'s, which A does not have."""
    before = world.stack.event_count()
    response = await world.client.post(path, json={"code": "A" * 43})
    assert response.status_code == 401, response.text
    assert world.stack.event_count() == before


async def web_asset(world: World, method: str, path: str) -> None:
    [script] = (DIST / "assets").glob("index-*.js")
    await public_without_tenant_data(world, method, path.replace("{path:path}", script.name))


async def b_thread(world: World) -> tuple[str, Any]:
    """A thread of B's (titled with B's name), and how B sees it."""
    b = world.keys.headers(world.b)
    made = await world.client.post("/threads", json={"title": f"of {world.b}"}, headers=b)
    assert made.status_code == 201, made.text
    thread = made.json()["id"]
    said = {"text": "B's goal", "job_id": str(world.job)}
    posted = await world.client.post(f"/threads/{thread}/messages", json=said, headers=b)
    assert posted.status_code == 201, posted.text
    return thread, (await world.client.get(f"/threads/{thread}", headers=b)).json()


def thread_of_b_not_found(**kwargs: Any) -> Probe:
    async def probe(world: World, method: str, path: str) -> None:
        thread, seen = await b_thread(world)
        await not_found(world, method, path.replace("{thread_id}", thread), **kwargs)
        b = world.keys.headers(world.b)
        assert (await world.client.get(f"/threads/{thread}", headers=b)).json() == seen

    return probe


async def threads_list_only_a(world: World, method: str, path: str) -> None:
    await b_thread(world)
    await lists_only_a(world, method, path)


async def creates_thread_of_a(world: World, method: str, path: str) -> None:
    response = await world.as_a(method, path, json={"title": "mine"})
    assert response.status_code == 201, response.text
    b = await world.client.get("/threads", headers=world.keys.headers(world.b))
    assert response.json()["id"] not in b.text


async def imports_for_a_without_b_jobs(world: World, method: str, path: str) -> None:
    """A link to B's job is refused (422, nothing written); without it the thread is A's."""
    at = "2026-01-01T00:00:00Z"
    linked = {"role": "user", "text": "B's goal", "job_id": str(world.job), "at": at}
    export = {"format": "bdg-thread/1", "title": "mine", "messages": [linked]}
    before = (await world.as_a("GET", "/threads")).json()["items"]
    refused = await world.as_a(method, path, json=export)
    assert refused.status_code == 422, refused.text
    assert "body.messages.0.job_id" in refused.json()["detail"]
    assert (await world.as_a("GET", "/threads")).json()["items"] == before
    export["messages"] = [{"role": "user", "text": "mine", "at": at}]
    assert (await world.as_a(method, path, json=export)).status_code == 201


async def drops_nothing_of_b(world: World, method: str, path: str) -> None:
    """Dropping a workspace is idempotent (204 for a name the caller has none of): B's stays."""
    response = await world.as_a(method, path)
    assert response.status_code == 204, response.text
    assert (await world.b_state())[3:] == (200, b"B's")


async def creates_workspace_of_a(world: World, method: str, path: str) -> None:
    """B's workspace name used by A is A's own (empty) workspace."""
    response = await world.as_a(method, path, json={})
    assert response.status_code == 201, response.text
    listed = await world.as_a("GET", f"{SANDBOX}/workspaces/{{workspace}}/files")
    assert listed.status_code == 200, listed.text
    assert FILE not in listed.text


async def _until_closed(ws: ClientConnection) -> None:
    while True:  # a refusal message may come before the close
        await asyncio.wait_for(ws.recv(), 20)


async def websocket_closes_4404(world: World, path: str, first: dict[str, Any] | None) -> None:
    before = world.stack.event_count()
    url = f"{world.live_url}{world.fill(path)}?token={world.keys.token(world.a)}"
    async with connect(url) as ws:
        if first is not None:
            await ws.send(json.dumps(first))
        with pytest.raises(ConnectionClosed) as closed:
            await _until_closed(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4404
    assert world.stack.event_count() == before


async def audit_of_b_not_found(world: World, method: str, path: str) -> None:
    await not_found(world, method, path, params={"job": str(world.ended)})


async def audit_rows_only_a(world: World, method: str, path: str) -> None:
    # B's file is dated today: a range around today would hold its rows if the tenant leaked.
    today = datetime.now(UTC).date()
    days = {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}
    response = await world.as_a(method, path, params=days)
    assert response.status_code == 200, (path, response.text)
    for secret in (str(world.ended), str(world.job), world.b):
        assert secret not in response.text, (path, secret)


async def consents_only_for_a(world: World, method: str, path: str) -> None:
    given = {"purpose": "analytics", "given": True}
    response = await world.as_a(method, path, json=given)
    assert response.status_code == 200, response.text
    assert response.json()["analytics"] is True
    of_b = await world.client.get(path, headers=world.keys.headers(world.b))
    assert of_b.json()["analytics"] is False


async def erases_nobody_of_b(world: World, method: str, path: str) -> None:
    admin = world.keys.headers(world.a, roles=["admin"])
    for user in ("alice", "bob"):  # B's people (A has an alice of its own)
        response = await world.as_a(method, path, json={"user": user}, headers=admin)
        assert response.status_code in (200, 404), response.text
    job = await world.stack.job(world.job)
    assert (job.goal, job.user_id) != (ERASED, ERASED)
    assert job.user_id == "alice"


CREDENTIALS = {
    "vercel": {"token": "b-token-0123456789", "project": "b-project"},
    "netlify": {"token": "b-token-0123456789", "site_id": "b-site"},
    "cloudflare-pages": {
        "token": "b-token-0123456789",
        "account_id": "b" * 32,
        "project": "b-pages",
    },
    "oci": {"token": "b-token-0123456789", "repository": "b/shop", "username": "b-user"},
}


async def credentials_stay_per_tenant(world: World, method: str, path: str) -> None:
    """B's deploy tokens: A (an admin of its own) setting, listing or deleting the same
    provider touches A's row only, and never sees B's settings."""
    provider = path.rsplit("/", 1)[-1] if path != "/deploy/credentials" else "vercel"
    b_admin = world.keys.headers(world.b, roles=["admin"])
    put = await world.client.put(
        f"/deploy/credentials/{provider}", json=CREDENTIALS[provider], headers=b_admin
    )
    assert put.status_code == 200, put.text
    a_admin = world.keys.headers(world.a, roles=["admin"])
    body = {k: v.replace("b", "a") for k, v in CREDENTIALS[provider].items()}
    response = await world.as_a(
        method, path, json=body if method == "PUT" else None, headers=a_admin
    )
    assert response.status_code in (200, 204, 404), (method, path, response.text)
    for b_setting in ("b-project", "b-site", "b-pages"):
        assert b_setting not in response.text
    of_b = await world.client.get("/deploy/credentials", headers=b_admin)
    assert [v["provider"] for v in of_b.json()].count(provider) == 1, of_b.text
    assert "b-token" not in of_b.text  # never answered back


async def method_not_allowed(world: World, method: str, path: str) -> None:
    before = world.stack.event_count()
    response = await world.as_a(method, path)
    assert response.status_code == 405, (method, path, response.text)
    assert world.stack.event_count() == before


def websocket(first: dict[str, Any] | None = None) -> Probe:
    async def probe(world: World, method: str, path: str) -> None:
        await websocket_closes_4404(world, path, first)

    return probe


JOB = "/jobs/{job_id}"
WS = f"{SANDBOX}/workspaces/{{workspace}}"
ROUTES: dict[tuple[str, str], Probe] = {
    # jobs: every route naming B's job
    ("POST", "/jobs"): creates_a_job_of_a,
    ("GET", "/jobs"): lists_only_a,
    ("GET", JOB): not_found,
    ("GET", f"{JOB}/events"): not_found,
    ("POST", f"{JOB}/fork"): not_found_with(json={"at_version": 1}),
    ("POST", f"{JOB}/plan"): not_found_with(json={"plan_markdown": "# mine"}),
    ("POST", f"{JOB}/plan/approve"): not_found,
    ("POST", f"{JOB}/deploy/approve"): not_found,
    ("POST", f"{JOB}/pause"): not_found,
    ("POST", f"{JOB}/resume"): not_found,
    ("POST", f"{JOB}/cancel"): not_found,
    ("POST", f"{JOB}/retry"): not_found,
    ("POST", f"{JOB}/rollback"): not_found_with(json={"reason": "mine"}),
    ("POST", f"{JOB}/budget"): not_found_with(json={"limit_usd": 5}),
    # budgets: the caller's own tenant only
    ("GET", "/budgets"): lists_only_a,
    ("GET", "/costs"): lists_only_a,
    ("PUT", "/budgets/tenant"): caps_only_a,
    ("PUT", "/budgets/users/{user}"): caps_only_a,
    ("GET", f"{JOB}/plan"): not_found,
    ("GET", f"{JOB}/plan/diff"): not_found_with(params={"from": 1, "to": 1}),
    ("GET", f"{JOB}/attempts"): not_found,
    ("GET", f"{JOB}/attempts/{{number}}"): not_found,
    ("GET", f"{JOB}/screenshots/{{digest}}"): not_found,
    ("GET", f"{JOB}/tool-calls"): not_found,
    ("POST", f"{JOB}/tool-calls/{{call_id}}/approve"): not_found,
    ("POST", f"{JOB}/tool-calls/{{call_id}}/deny"): not_found_with(json={"reason": "mine"}),
    ("WS", f"{JOB}/stream"): websocket(),
    # sites and releases: B's site and release names are nothing of A's
    ("GET", "/sites"): lists_only_a,
    ("GET", "/sites/{site_id}/releases"): not_found,
    ("POST", "/releases/{release}/promote"): not_found,
    ("POST", "/releases/{release}/rollback"): not_found_with(json={"reason": "mine"}),
    # the index
    ("POST", "/index/repos"): registers_for_a,
    ("GET", "/index/repos"): lists_only_a,
    ("GET", "/index/repos/{repo_id}"): not_found,
    ("GET", "/search"): search_of_b_repo,
    ("POST", "/webhooks/git"): webhook_without_b_secret,
    # the sandbox: names are per tenant, so B's name is nothing of A's
    ("GET", SANDBOX): lists_only_a,
    ("GET", f"{WS}/files"): not_found,
    ("GET", f"{WS}/files/{{path:path}}"): not_found,
    ("PUT", f"{WS}/files/{{path:path}}"): not_found_with(content=b"mine"),
    ("DELETE", f"{WS}/files/{{path:path}}"): not_found,
    ("POST", f"{WS}/exec"): not_found_with(json={"argv": ["cat", FILE]}),
    ("WS", f"{WS}/exec"): websocket({"argv": ["cat", FILE]}),
    ("DELETE", WS): drops_nothing_of_b,
    ("POST", WS): creates_workspace_of_a,  # last: A then has a workspace of that name
    # the audit trail: the caller's tenant's files only; the public keys hold nothing of B's
    ("GET", "/agent/audit/keys"): lists_only_a,
    ("GET", "/agent/audit/verify"): audit_of_b_not_found,
    ("GET", "/agent/audit/export"): audit_rows_only_a,
    ("GET", "/agent/audit/report"): audit_rows_only_a,
    # no tenant: health and the API's own documents
    ("GET", "/healthz"): public_without_tenant_data,
    ("GET", "/openapi.json"): public_without_tenant_data,
    ("GET", "/docs"): public_without_tenant_data,
    ("GET", "/docs/oauth2-redirect"): public_without_tenant_data,
    ("GET", "/redoc"): public_without_tenant_data,
    # the web app's files, and its sign-in (a one-time code is the credential)
    ("GET", "/"): public_without_tenant_data,
    ("GET", "/app"): public_without_tenant_data,
    ("GET", "/app/{path:path}"): public_without_tenant_data,
    ("GET", "/assets/{path:path}"): web_asset,
    ("POST", "/auth/login"): login_without_b_code,
    # chat threads: a person's own; linked jobs must be the tenant's
    ("POST", "/threads"): creates_thread_of_a,
    ("GET", "/threads"): threads_list_only_a,
    ("GET", "/threads/{thread_id}"): thread_of_b_not_found(),
    ("POST", "/threads/{thread_id}/messages"): thread_of_b_not_found(json={"text": "mine"}),
    ("GET", "/threads/{thread_id}/export"): thread_of_b_not_found(),
    ("POST", "/threads/import"): imports_for_a_without_b_jobs,
    **{(m, "/threads/import"): method_not_allowed for m in ("GET", "PUT", "PATCH", "DELETE")},
    # consents: the caller's own; B's "alice" is another person than A's
    ("GET", "/agent/consent"): lists_only_a,
    ("POST", "/agent/consent"): consents_only_for_a,
    # deploy tokens: per tenant, admin only, never answered back
    ("GET", "/deploy/credentials"): credentials_stay_per_tenant,
    **{
        (m, f"/deploy/credentials/{p}"): credentials_stay_per_tenant
        for m in ("PUT", "DELETE")
        for p in CREDENTIALS
    },
    # last: it may erase A's own "alice"; B's "alice" is another person
    ("POST", "/agent/data-delete"): erases_nobody_of_b,
}


def _walk(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, BaseRoute]]:
    for route in routes:
        # FastAPI >= 0.16x keeps an included router whole (its routes carry their router's
        # prefix, the include's own prefix is in its context); older ones copy the routes.
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _walk(inner.routes, prefix + route.include_context.prefix)  # type: ignore[attr-defined]
        else:
            yield prefix, route


def routes_of(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) the app serves; WebSockets as ("WS", path)."""
    found: set[tuple[str, str]] = set()
    for prefix, route in _walk(app.routes):
        if isinstance(route, APIWebSocketRoute):
            found.add(("WS", prefix + route.path))
        elif isinstance(route, APIRoute | Route):
            found.update((m, prefix + route.path) for m in route.methods or () if m != "HEAD")
        else:
            raise AssertionError(f"a route of an unknown kind: {route!r}")
    return found


def test_every_route_is_classified(gateway: FastAPI) -> None:
    served = routes_of(gateway)
    assert served - set(ROUTES) == set(), "routes with no cross-tenant probe: add them to ROUTES"
    assert set(ROUTES) - served == set(), "ROUTES names routes the app no longer serves"


def test_a_route_added_without_a_row_is_caught(gateway: FastAPI) -> None:
    router = APIRouter(prefix="/jobs")

    @router.get("/{job_id}/shiny")
    async def shiny(job_id: UUID) -> str:
        return "anyone's"

    gateway.include_router(router)
    assert routes_of(gateway) - set(ROUTES) == {("GET", "/jobs/{job_id}/shiny")}


async def ended_job_with_audit_file(
    client: httpx.AsyncClient, keys: Keys, b: str, audit_rig: AuditRig
) -> UUID:
    made = await client.post("/jobs", json={"goal": "B's own"}, headers=keys.headers(b))
    assert made.status_code == 201, made.text
    job = UUID(made.json()["id"])
    cancelled = await client.post(f"/jobs/{job}/cancel", headers=keys.headers(b))
    assert cancelled.status_code == 200, cancelled.text
    written = await audit_rig.auditing.write_file(job, cancelled.json()["version"])
    assert written is not None
    return job


async def b_site(stack: Stack, b: str) -> BuiltSite:
    site = await site_in_canary(stack.store, b)
    project_sites(stack.store, stack.database_url)  # A's listing would show it if it leaked
    return site


@pytest.fixture(name="world")
async def world_fixture(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, live_url: str, audit_rig: AuditRig
) -> World:
    a, b = new_tenant(), new_tenant()
    job = await coding_job(client, keys, stack, b)
    ctx = ToolContext(job, b, "coder", user_id="bob", scope="turn-1")
    waiting = await caller_for(stack, Counting()).call(ctx, "run_command", COMMAND)
    assert isinstance(waiting, oc.AwaitingApproval)
    repo_url = f"https://github.com/{new_tenant()}/app.git"  # its owner is not B's name
    registered = await client.post("/index/repos", json={"repo": repo_url}, headers=keys.headers(b))
    assert registered.status_code == 201, registered.text
    workspace = f"ws-{b}"
    created = await client.post(
        f"{SANDBOX}/workspaces/{workspace}", json={}, headers=keys.headers(b)
    )
    assert created.status_code == 201, created.text
    put = await client.put(
        f"{SANDBOX}/workspaces/{workspace}/files/{FILE}", content=b"B's", headers=keys.headers(b)
    )
    assert put.status_code == 204, put.text
    return World(
        client, keys, stack, live_url, a, b, job, waiting.call_id,
        UUID(registered.json()["id"]), repo_url, registered.json()["webhook_secret"], workspace,
        await ended_job_with_audit_file(client, keys, b, audit_rig),
        await b_site(stack, b),
    )  # fmt: skip


async def test_tenant_a_reaches_nothing_of_tenant_b(world: World) -> None:
    before = await world.b_state()
    assert before[3:] == (200, b"B's")
    for (method, path), probe in ROUTES.items():
        await probe(world, method, path)
    assert await world.b_state() == before
