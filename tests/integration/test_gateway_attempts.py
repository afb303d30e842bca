"""A job's attempts through the gateway, on real PostgreSQL: all, one, without patches, unknown
numbers, other tenants, the OpenAPI document."""

from __future__ import annotations

from uuid import UUID

import httpx
import pytest

from bdg_contracts import events as ev
from bdg_jobs.domain import Cause, Job
from tests.gateway_stack import Keys, Stack, new_tenant
from tests.integration.gateway_calls import create

pytestmark = pytest.mark.timeout(60)
PATCH = "--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n-old\n+new\n"


def first_attempt_fails(job: Job, cause: Cause) -> None:
    job.make_plan_ready(cause, "- [ ] add the route")
    job.approve_plan(cause, "alice")
    job.call_tool(cause, tool="file_read", arguments_json='{"path": "app.py"}', result="old",
                  idempotency_key="k1")  # fmt: skip
    job.record_llm_call(cause, role="coder", model="m", request_hash="h", response="r",
                        prompt_tokens=120, completion_tokens=30, cost_usd=0.002)  # fmt: skip
    job.change_files(cause, PATCH, ("app.py",))
    job.finish_coding(cause, "first try")
    job.fail_tests(cause, ev.TestResults(total=2, failed=1, output_tail="FAILED"), "route 404s")


def second_attempt_passes(job: Job, cause: Cause) -> None:
    job.change_files(cause, PATCH, ("app.py",))
    job.finish_coding(cause, "second try")
    job.pass_tests(cause, ev.TestResults(total=2, failed=0, coverage=88.0))


async def test_attempts_all_one_and_without_patches(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    headers = keys.headers(tenant)
    job_id = (await create(client, keys, tenant))["id"]
    empty = (await client.get(f"/jobs/{job_id}/attempts", headers=headers)).json()
    assert (empty["state"], empty["attempts"]) == ("planning", [])

    await stack.decide(UUID(job_id), first_attempt_fails)
    await stack.decide(UUID(job_id), second_attempt_passes)
    listed = await client.get(f"/jobs/{job_id}/attempts", headers=headers)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert (body["job_id"], body["state"], body["max_attempts"]) == (job_id, "reviewing", 5)
    first, second = body["attempts"]
    assert (first["number"], first["trigger"]["kind"], first["outcome"]) == (
        1, "plan_approved", "tests_failed",
    )  # fmt: skip
    assert first["coder"]["summary"] == "first try"
    assert first["coder"]["tool_calls"][0]["tool"] == "file_read"
    assert first["coder"]["model"]["prompt_tokens"] == 120
    assert first["coder"]["files"][0]["patch"] == PATCH
    assert first["tester"]["analysis"] == "route 404s"
    assert (second["trigger"]["kind"], second["trigger"]["from_attempt"]) == ("tests_failed", 1)
    assert (second["outcome"], second["tester"]["coverage"]) == ("in_review", 88.0)

    bare = (await client.get(f"/jobs/{job_id}/attempts?patch=false", headers=headers)).json()
    assert [f["patch"] for a in bare["attempts"] for f in a["coder"]["files"]] == [None, None]
    assert bare["attempts"][0]["coder"]["files"][0]["added"] == 1

    one = await client.get(f"/jobs/{job_id}/attempts/2", headers=headers)
    assert one.status_code == 200
    assert one.json() == second
    one_bare = await client.get(f"/jobs/{job_id}/attempts/2", params={"patch": "false"},
                                headers=headers)  # fmt: skip
    assert one_bare.json()["coder"]["files"][0]["patch"] is None


async def test_unknown_attempts_other_tenants_and_no_token_are_refused(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    job_id = (await create(client, keys, tenant))["id"]
    await stack.decide(UUID(job_id), first_attempt_fails)

    missing = await client.get(f"/jobs/{job_id}/attempts/3", headers=keys.headers(tenant))
    assert missing.status_code == 404
    assert missing.json()["detail"] == "no attempt 3: the job has only 2"
    zero = await client.get(f"/jobs/{job_id}/attempts/0", headers=keys.headers(tenant))
    assert zero.status_code == 422
    for path in (f"/jobs/{job_id}/attempts", f"/jobs/{job_id}/attempts/1"):
        other = await client.get(path, headers=keys.headers(new_tenant()))
        assert other.status_code == 404, path
        assert "attempt" not in other.text  # the same answer as for a job that does not exist
        anonymous = await client.get(path)
        assert anonymous.status_code == 401


async def test_the_routes_are_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    listed = paths["/jobs/{job_id}/attempts"]["get"]
    assert "patch" in [p["name"] for p in listed["parameters"]]
    assert listed["security"]
    one = paths["/jobs/{job_id}/attempts/{number}"]["get"]
    assert "404" in one["responses"]
    assert one["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Attempt"
    }
