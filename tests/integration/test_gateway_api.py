"""The gateway's REST API in-process (ASGI) over a real PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI

from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bdg_contracts.states import Step
from bdg_gateway.app import create_app
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Cause, Job
from bdg_jobs.store import JobStore, Recorded
from bdg_jobs.user_commands import JobCommands
from tests.conftest import Servers
from tests.gateway_stack import AUDIENCE, Keys, Stack, new_tenant
from tests.integration.gateway_calls import create, plan_ready

pytestmark = pytest.mark.timeout(60)

JOB_FIELDS = {
    "id", "tenant", "user", "goal", "repo", "state", "plan_markdown", "plan_versions", "attempt",
    "cost_usd", "version", "created_at", "updated_at", "failed_step", "deploy_digest",
}  # fmt: skip


def to_deploy_approval(job: Job, cause: Cause) -> None:
    job.finish_coding(cause, "done")
    job.pass_tests(cause, ev.TestResults(total=3))
    job.complete_review(cause, approved=True, score=9, notes="fine")
    job.await_deploy_approval(cause, target="prod")


async def test_request_job_answers_201_with_the_job(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    response = await client.post(
        "/jobs",
        json={"goal": "add a /health route", "repo": "https://git.test/r.git"},
        headers=keys.headers(tenant, sub="bob"),
    )
    assert response.status_code == 201, response.text
    job = response.json()
    assert set(job) == JOB_FIELDS
    assert job["tenant"] == tenant
    assert job["user"] == "bob"
    assert job["repo"] == "https://git.test/r.git"
    assert job["state"] == "planning"
    assert job["version"] == 1
    assert job["failed_step"] is None
    assert response.headers["location"] == f"/jobs/{job['id']}"
    again = await client.get(f"/jobs/{job['id']}", headers=keys.headers(tenant))
    assert again.status_code == 200
    assert again.json() == job
    assert (await stack.job(UUID(job["id"]))).goal == "add a /health route"


async def test_plan_edit_approve_pause_resume_cancel(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    auth = keys.headers(tenant)
    job_id = (await create(client, keys, tenant))["id"]
    await stack.decide(UUID(job_id), plan_ready)

    edited = await client.post(
        f"/jobs/{job_id}/plan", json={"plan_markdown": "# Better plan"}, headers=auth
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["plan_markdown"] == "# Better plan"
    assert edited.json()["plan_versions"] == ["# Plan\n1. add the route", "# Better plan"]

    approved = await client.post(f"/jobs/{job_id}/plan/approve", headers=auth)
    assert approved.status_code == 200, approved.text
    assert (approved.json()["state"], approved.json()["attempt"]) == ("coding", 1)

    paused = await client.post(f"/jobs/{job_id}/pause", json={"reason": "lunch"}, headers=auth)
    assert paused.json()["state"] == "paused"
    resumed = await client.post(f"/jobs/{job_id}/resume", headers=auth)
    assert resumed.json()["state"] == "coding"
    paused_again = await client.post(f"/jobs/{job_id}/pause", headers=auth)  # no body
    assert paused_again.json()["state"] == "paused"
    cancelled = await client.post(f"/jobs/{job_id}/cancel", json={"reason": "enough"}, headers=auth)
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "cancelled"

    events = (await client.get(f"/jobs/{job_id}/events", headers=auth)).json()
    assert [e["name"] for e in events] == [
        "JobRequested", "PlanReady", "PlanEdited", "PlanApproved", "JobPaused", "JobResumed",
        "JobPaused", "JobCancelled",
    ]  # fmt: skip
    assert [e["version"] for e in events] == list(range(1, 9))
    assert events[3]["event"]["approved_by"] == "alice"
    assert events[3]["event"]["producer"] == "user:alice"
    later = (await client.get(f"/jobs/{job_id}/events?after=6", headers=auth)).json()
    assert [e["version"] for e in later] == [7, 8]

    then = await client.get(f"/jobs/{job_id}?at_version=3", headers=auth)
    assert (then.json()["version"], then.json()["state"]) == (3, "awaiting_plan_approval")
    assert then.json()["plan_markdown"] == "# Better plan"


async def test_deploy_approval_and_rollback(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    auth = keys.headers(tenant)
    job_id = (await create(client, keys, tenant, plan_approval="auto"))["id"]
    await stack.decide(UUID(job_id), plan_ready)  # auto approval: coding
    await stack.decide(UUID(job_id), to_deploy_approval)

    approved = await client.post(f"/jobs/{job_id}/deploy/approve", headers=auth)
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "deploying"
    await stack.decide(UUID(job_id), lambda j, c: j.deploy(c, "https://app.test"))

    rolled = await client.post(f"/jobs/{job_id}/rollback", json={"reason": "500s"}, headers=auth)
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["state"] == "deploying"
    last = (await client.get(f"/jobs/{job_id}/events?after=9", headers=auth)).json()
    assert last[-1]["name"] == "RollbackRequested"
    assert last[-1]["event"]["reason"] == "500s"


async def test_retry_sends_a_failed_step_back(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    auth = keys.headers(tenant)
    job_id = (await create(client, keys, tenant))["id"]
    await stack.decide(
        UUID(job_id), lambda j, c: j.fail_step(c, Step.planning, "planner", "model down", 1)
    )
    failed = (await client.get(f"/jobs/{job_id}", headers=auth)).json()
    assert (failed["state"], failed["failed_step"]) == ("failed", "planning")

    retried = await client.post(f"/jobs/{job_id}/retry", headers=auth)
    assert retried.status_code == 200, retried.text
    assert (retried.json()["state"], retried.json()["failed_step"]) == ("planning", None)


async def test_budget_raise(client: httpx.AsyncClient, keys: Keys, stack: Stack) -> None:
    tenant = new_tenant()
    auth = keys.headers(tenant)
    job_id = (await create(client, keys, tenant))["id"]
    await stack.decide(
        UUID(job_id), lambda j, c: j.exceed_budget(c, 1.0, 1.5, f"job:{tenant}:{job_id}", "")
    )
    raised = await client.post(f"/jobs/{job_id}/budget", json={"limit_usd": 5}, headers=auth)
    assert raised.status_code == 200, raised.text
    assert raised.json()["state"] == "planning"


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("plan/approve", None, "PlanApproved is not allowed while the job is planning"),
        ("plan", {"plan_markdown": "x"}, "PlanEdited is not allowed"),
        ("deploy/approve", None, "DeployApproved is not allowed"),
        ("resume", None, "JobResumed is not allowed"),
        ("retry", None, "cannot retry"),
        ("rollback", {"reason": "why"}, "nothing was deployed"),
    ],
)
async def test_illegal_command_is_409_and_writes_nothing(
    client: httpx.AsyncClient,
    keys: Keys,
    stack: Stack,
    path: str,
    body: dict[str, Any] | None,
    message: str,
) -> None:
    tenant = new_tenant()
    job_id = (await create(client, keys, tenant))["id"]
    before = stack.event_count()
    response = await client.post(f"/jobs/{job_id}/{path}", json=body, headers=keys.headers(tenant))
    assert response.status_code == 409, response.text
    assert message in response.json()["detail"]
    assert stack.event_count() == before


async def test_cancel_twice_is_409(client: httpx.AsyncClient, keys: Keys, stack: Stack) -> None:
    tenant = new_tenant()
    job_id = (await create(client, keys, tenant))["id"]
    assert (await client.post(f"/jobs/{job_id}/cancel", headers=keys.headers(tenant))).is_success
    before = stack.event_count()
    again = await client.post(f"/jobs/{job_id}/cancel", headers=keys.headers(tenant))
    assert again.status_code == 409
    assert "cancelled" in again.json()["detail"]
    assert stack.event_count() == before


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/jobs", {"goal": ""}, "body.goal"),
        ("POST", "/jobs", {}, "body.goal"),
        ("POST", "/jobs", {"goal": "g", "colour": "red"}, "body.colour"),
        ("POST", "/jobs", {"goal": "g", "plan_approval": "maybe"}, "body.plan_approval"),
        ("POST", "/jobs", {"goal": "g", "max_attempts": 99}, "body.max_attempts"),
        ("GET", "/jobs?limit=0", None, "query.limit"),
        ("GET", "/jobs?offset=-1", None, "query.offset"),
        ("GET", "/jobs/{job}?at_version=0", None, "query.at_version"),
        ("GET", "/jobs/{job}/events?after=-1", None, "query.after"),
        ("POST", "/jobs/{job}/plan", {"plan_markdown": ""}, "body.plan_markdown"),
        ("POST", "/jobs/{job}/rollback", {}, "body.reason"),
        ("POST", "/jobs/{job}/budget", {"limit_usd": -1}, "body.limit_usd"),
        ("POST", "/jobs/{job}/pause", {"reason": 3}, "body.reason"),
        ("POST", "/jobs/{job}/fork", {"at_version": 0}, "body.at_version"),
        (
            "POST",
            "/jobs/{job}/fork",
            {"at_version": 1, "models": {"cook": "m"}},
            "body.models.cook.[key]",
        ),
        (
            "POST",
            "/jobs/{job}/fork",
            {"at_version": 1, "models": {"coder": " "}},
            "body.models.coder",
        ),
    ],
)
async def test_invalid_input_is_422_naming_the_field(
    client: httpx.AsyncClient,
    keys: Keys,
    stack: Stack,
    method: str,
    path: str,
    body: Any,
    field: str,
) -> None:
    tenant = new_tenant()
    job_id = (await create(client, keys, tenant))["id"]
    before = stack.event_count()
    response = await client.request(
        method, path.format(job=job_id), json=body, headers=keys.headers(tenant)
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(field), response.json()
    assert response.json()["errors"][0]["loc"] == field.split(".")
    assert stack.event_count() == before


ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/jobs/{job}", None),
    ("GET", "/jobs/{job}/events", None),
    ("POST", "/jobs/{job}/plan", {"plan_markdown": "mine now"}),
    ("POST", "/jobs/{job}/plan/approve", None),
    ("POST", "/jobs/{job}/deploy/approve", None),
    ("POST", "/jobs/{job}/pause", None),
    ("POST", "/jobs/{job}/resume", None),
    ("POST", "/jobs/{job}/cancel", None),
    ("POST", "/jobs/{job}/retry", None),
    ("POST", "/jobs/{job}/rollback", {"reason": "why"}),
    ("POST", "/jobs/{job}/budget", {"limit_usd": 10}),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_bad_uuid_is_422(
    client: httpx.AsyncClient, keys: Keys, method: str, path: str, body: Any
) -> None:
    response = await client.request(
        method, path.format(job="not-a-uuid"), json=body, headers=keys.headers(new_tenant())
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith("path.job_id: Input should be a valid UUID")


async def test_another_tenants_job_is_404_everywhere_and_never_listed(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    owner, other = new_tenant(), new_tenant()
    job_id = (await create(client, keys, owner))["id"]
    await stack.decide(UUID(job_id), plan_ready)  # every command would be legal for the owner
    before = stack.event_count()
    for method, path, body in ROUTES:
        for job in (job_id, str(uuid4())):  # a stranger's job looks exactly like no job
            response = await client.request(
                method, path.format(job=job), json=body, headers=keys.headers(other)
            )
            assert response.status_code == 404, (method, path, response.text)
            assert response.json() == {"detail": f"no job {job}"}
    assert stack.event_count() == before
    stack.project()
    assert (await client.get("/jobs", headers=keys.headers(other))).json()["items"] == []
    mine = (await client.get("/jobs", headers=keys.headers(owner))).json()["items"]
    assert [j["id"] for j in mine] == [job_id]


async def test_list_is_the_tenants_read_model_newest_first(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant, other = new_tenant(), new_tenant()
    ids = [(await create(client, keys, tenant, goal=f"goal {i}"))["id"] for i in range(5)]
    await create(client, keys, other)
    await stack.decide(UUID(ids[0]), plan_ready)
    stack.project()

    page = (await client.get("/jobs", headers=keys.headers(tenant))).json()
    assert (page["limit"], page["offset"]) == (50, 0)
    assert [j["id"] for j in page["items"]] == ids[::-1]
    oldest = page["items"][-1]
    assert oldest["state"] == "awaiting_plan_approval"
    assert oldest["plan_markdown"] == "# Plan\n1. add the route"
    assert (oldest["tenant"], oldest["user"], oldest["goal"]) == (tenant, "alice", "goal 0")
    assert oldest["version"] == 2
    assert oldest["cost_usd"] == 0

    second = await client.get("/jobs?limit=2&offset=2", headers=keys.headers(tenant))
    assert [j["id"] for j in second.json()["items"]] == ids[2:0:-1]


class RivalStore(JobStore):
    """A real store in front of which another writer always appends first: every save of the
    gateway's command then loses a real version race in PostgreSQL."""

    def append(self, events: Sequence[Event]) -> list[Recorded]:
        if events[0].version == 1:  # a new job: nobody to race with
            return super().append(events)
        rival = self.load(events[0].job_id)
        rival.record_llm_call(
            Cause(producer="rival", occurred_at=datetime.now(UTC)),
            role="rival",
            model="m",
            request_hash="r",
            response="",
            prompt_tokens=0,
            completion_tokens=0,
            cost_usd=0.0,
        )
        super().append(rival.collect())
        return super().append(events)


async def test_version_conflicts_beyond_retries_are_409(keys: Keys, stack: Stack) -> None:
    tenant = new_tenant()
    assert stack.store.datastore is not None
    rival_store = RivalStore(stack.store.datastore)
    commands = JobCommands(JobApplication(rival_store, max_conflict_retries=3))
    app = create_app(commands, stack.queries, stack.nc, keys.authenticator())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        job_id = (await create(http, keys, tenant))["id"]
        response = await http.post(f"/jobs/{job_id}/cancel", headers=keys.headers(tenant))
    assert response.status_code == 409
    assert "too many concurrent writers" in response.json()["detail"]
    names = [e.name for e in stack.store.history(UUID(job_id))]
    assert "JobCancelled" not in names
    assert names.count("LlmCalled") == 3  # the rival won each of the three tries


async def test_healthz_needs_no_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok", "database": "ok", "nats": "ok", "poisoned": 0, "newest_poison": None
    }  # fmt: skip


async def test_healthz_is_503_when_nats_is_gone(keys: Keys, stack: Stack, servers: Servers) -> None:
    import nats

    closed = await nats.connect(servers.nats_url)
    await closed.close()
    app = create_app(stack.commands, stack.queries, closed, keys.authenticator())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        response = await http.get("/healthz")
    assert response.status_code == 503
    assert response.json()["nats"] == "disconnected"
    assert response.json()["database"] == "ok"


async def test_openapi_declares_bearer_auth(client: httpx.AsyncClient, gateway: FastAPI) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A JWT with claims `sub` (user), `tenant`, `aud` and `exp`.",
    }
    for path in ("/jobs", "/jobs/{job_id}", "/jobs/{job_id}/plan/approve", "/jobs/{job_id}/cancel"):
        for operation in spec["paths"][path].values():
            assert operation["security"] == [{"bearer": []}], path
    assert "security" not in spec["paths"]["/healthz"]["get"]
    request_job = spec["paths"]["/jobs"]["post"]
    assert request_job["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RequestJob"
    }
    assert "201" in request_job["responses"]


async def _listening_port(process: asyncio.subprocess.Process, said: list[str]) -> int:
    assert process.stdout is not None
    while line := (await process.stdout.readline()).decode():
        message = json.loads(line)["msg"] if line.startswith("{") else line
        said.append(message)
        if message.startswith("gateway listening on http://"):
            return int(message.rsplit(":", 1)[1])
    raise AssertionError(f"gateway exited with {await process.wait()}")


async def test_main_serves_until_sigterm(
    keys: Keys, stack: Stack, servers: Servers, namespace: str
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": stack.database_url,
        "NATS_URL": servers.nats_url,
        "BDG_NAMESPACE": namespace,
        "GATEWAY_PORT": "0",
        "JWT_ALGORITHM": "EdDSA",
        "JWT_PUBLIC_KEY": keys.ed_public_pem,
        "JWT_AUDIENCE": AUDIENCE,
        "AGENT_SANDBOX_ENDPOINT": "unix:///nonexistent/sandbox.sock",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bdg_gateway.main",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        said: list[str] = []
        port = await asyncio.wait_for(_listening_port(process, said), 40)
        # Start-up's objects (imports, the app's routes) are frozen out of the collector's
        # walks before the first request (bdg_runtime.heap): well over 10,000 of them.
        frozen = [re.fullmatch(r"gateway app built: (\d+) objects frozen", m) for m in said]
        assert [int(m[1]) > 10_000 for m in frozen if m] == [True], said
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            assert (await http.get("/healthz")).json()["status"] == "ok"
            tenant = new_tenant()
            auth = keys.headers(tenant, algorithm="EdDSA")
            created = await http.post("/jobs", json={"goal": "from main"}, headers=auth)
            assert created.status_code == 201, created.text
            refused = await http.get("/jobs", headers=keys.headers(tenant))  # HS256: refused
            assert refused.status_code == 401
        process.send_signal(signal.SIGTERM)
        assert process.stdout is not None
        await asyncio.wait_for(process.stdout.read(), 30)  # drain the logs until it exits
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"JWT_ALGORITHM": "HS256"}, "needs JWT_SECRET"),
        ({"JWT_ALGORITHM": "RS256"}, "needs JWT_PUBLIC_KEY"),
        ({"JWT_ALGORITHM": "HS256", "JWT_SECRET": "short"}, "at least 32 bytes"),
    ],
)
def test_main_refuses_to_start_without_a_key(env: dict[str, str], message: str) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("JWT_")}
    result = subprocess.run(
        [sys.executable, "-m", "bdg_gateway.main"],
        env={**base, **env, "DATABASE_URL": "postgresql://nowhere/x", "NATS_URL": "nats://x:1"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "refuses to start" in result.stderr or "32 bytes" in result.stderr


async def test_a_fork_is_a_new_job_from_the_cut_and_refuses_what_cannot_run(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    job_id = (await create(client, keys, tenant))["id"]
    body = {"at_version": 1, "models": {"planner": "gpt-4o"}}
    forked = await client.post(f"/jobs/{job_id}/fork", json=body, headers=keys.headers(tenant))
    assert forked.status_code == 201, forked.text
    fork = forked.json()
    assert fork["id"] != job_id
    assert forked.headers["Location"] == f"/jobs/{fork['id']}"
    assert (fork["state"], fork["version"], fork["goal"]) == ("planning", 1, "add a /health route")
    events = await client.get(f"/jobs/{fork['id']}/events", headers=keys.headers(tenant))
    request = events.json()[0]
    assert request["event"]["forked_from"] == {"job_id": job_id, "version": 1}
    assert request["event"]["models"] == {"planner": "gpt-4o"}

    before = stack.event_count()
    past = await client.post(
        f"/jobs/{job_id}/fork", json={"at_version": 9}, headers=keys.headers(tenant)
    )
    assert past.status_code == 409
    assert "cannot fork at version 9" in past.json()["detail"]
    other = await client.post(
        f"/jobs/{job_id}/fork", json={"at_version": 1}, headers=keys.headers(new_tenant())
    )
    assert other.status_code == 404
    assert stack.event_count() == before


def test_fastapi_own_telemetry_is_off(gateway: FastAPI) -> None:
    # On, it looked the tracer provider up in os.environ on every request (7% of the CPU).
    config = gateway._telemetry  # what FastAPI's NativeTelemetry reads
    assert (config["tracing"], config["metrics"], config["logs"]) == (False, False, False)
    assert not gateway._native_telemetry.enabled()
