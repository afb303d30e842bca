"""Issue 11, findings 2 and 6 at the edge: text PostgreSQL cannot store, non-finite numbers and
out-of-range query parameters are a 422 naming the field, and nothing is written."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.gateway_stack import Keys, Stack, new_tenant
from tests.integration.gateway_calls import create, deliver, plan_ready, register
from tests.webhook_samples import encoded

pytestmark = pytest.mark.timeout(60)
NUL, SURROGATE = "fix it\u0000", "fix it \ud800"


def refused(response: httpx.Response, *loc: str) -> None:
    """A 422 whose errors name the field at ``loc``."""
    assert response.status_code == 422, response.text
    locations = [tuple(e["loc"][: len(loc)]) for e in response.json()["errors"]]
    assert loc in locations, response.json()
    assert ".".join(loc) in response.json()["detail"]


async def post_raw(
    client: httpx.AsyncClient, keys: Keys, tenant: str, path: str, body: str
) -> httpx.Response:
    """A body as typed, so it can hold what ``json.dumps`` would not write (``Infinity``)."""
    headers = {**keys.headers(tenant), "Content-Type": "application/json"}
    return await client.post(path, content=body.encode("utf-8", "surrogatepass"), headers=headers)


@pytest.mark.parametrize("goal", [NUL, SURROGATE], ids=["nul", "lone-surrogate"])
async def test_a_goal_postgresql_cannot_store_is_422_and_writes_nothing(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, goal: str
) -> None:
    before = stack.event_count()
    body = json.dumps({"goal": goal})  # ASCII: "\u0000" and "\ud800" travel as escapes
    refused(await post_raw(client, keys, new_tenant(), "/jobs", body), "body", "goal")
    assert stack.event_count() == before


async def test_a_base_ref_with_nul_is_422(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    response = await client.post(
        "/jobs", json={"goal": "g", "base_ref": "main\u0000"}, headers=keys.headers(new_tenant())
    )
    refused(response, "body", "base_ref")


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        ("plan", {"plan_markdown": "# Plan\u0000"}, ("body", "plan_markdown")),
        ("pause", {"reason": "\u0000"}, ("body", "reason")),
        ("cancel", {"reason": "\u0000"}, ("body", "reason")),
        ("rollback", {"reason": "oops\u0000"}, ("body", "reason")),
        ("fork", {"at_version": 1, "models": {"coder": "gpt\u0000"}}, ("body", "models", "coder")),
        ("fork", {"at_version": 2**63}, ("body", "at_version")),
        ("budget", {"limit_usd": 1e300}, ("body", "limit_usd")),
    ],
)
async def test_every_job_command_refuses_bad_text_and_numbers(
    client: httpx.AsyncClient,
    keys: Keys,
    stack: Stack,
    path: str,
    body: dict[str, Any],
    loc: tuple[str, ...],
) -> None:
    tenant = new_tenant()
    job = await create(client, keys, tenant)
    await stack.decide(job["id"], plan_ready)
    before = stack.event_count()
    response = await client.post(
        f"/jobs/{job['id']}/{path}", json=body, headers=keys.headers(tenant)
    )
    refused(response, *loc)
    assert stack.event_count() == before


@pytest.mark.parametrize("literal", ["Infinity", "-Infinity", "NaN"])
async def test_a_non_finite_budget_is_422_and_writes_nothing(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, literal: str
) -> None:
    tenant = new_tenant()
    job = await create(client, keys, tenant)
    before = stack.event_count()
    body = f'{{"limit_usd": {literal}}}'
    response = await post_raw(client, keys, tenant, f"/jobs/{job['id']}/budget", body)
    assert response.status_code == 422, response.text
    assert literal in response.json()["detail"]
    assert stack.event_count() == before


async def test_a_non_finite_number_is_refused_by_the_json_parser_anywhere(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    # max_attempts is an int: pydantic alone would say "not an integer"; the parser says why.
    body = '{"goal": "g", "max_attempts": NaN}'
    response = await post_raw(client, keys, new_tenant(), "/jobs", body)
    assert response.status_code == 422, response.text
    assert "NaN is not a JSON number" in response.json()["detail"]


@pytest.mark.parametrize(
    ("url", "loc"),
    [
        ("/jobs?offset=9223372036854775808", ("query", "offset")),
        ("/jobs?offset=1000001", ("query", "offset")),
        ("/jobs/{job}?at_version=9223372036854775808", ("query", "at_version")),
        ("/jobs/{job}/events?after=9223372036854775808", ("query", "after")),
        ("/jobs/{job}/plan/diff?from=1&to=9223372036854775808", ("query", "to")),
        ("/jobs/{job}/attempts/9223372036854775808", ("path", "number")),
        ("/search?q=a%00b", ("query", "q")),
    ],
)
async def test_out_of_range_query_parameters_are_422(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, url: str, loc: tuple[str, ...]
) -> None:
    tenant = new_tenant()
    job = await create(client, keys, tenant)
    response = await client.get(url.format(job=job["id"]), headers=keys.headers(tenant))
    refused(response, *loc)


async def test_index_registration_refuses_nul_in_ref_and_globs(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    before = stack.event_count()
    headers = keys.headers(new_tenant())
    url = f"https://git.test/{new_tenant()}/app.git"
    response = await client.post(
        "/index/repos", json={"repo": url, "ref": "\u0000"}, headers=headers
    )
    refused(response, "body", "ref")
    response = await client.post(
        "/index/repos", json={"repo": url, "include": ["*.py\u0000"]}, headers=headers
    )
    refused(response, "body", "include", "0")
    assert stack.event_count() == before


async def test_a_denial_reason_with_nul_is_422(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    job = await create(client, keys, tenant)
    call = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    response = await client.post(
        f"/jobs/{job['id']}/tool-calls/{call}/deny",
        json={"reason": "no\u0000"},
        headers=keys.headers(tenant),
    )
    refused(response, "body", "reason")


async def test_a_push_whose_ref_holds_nul_is_400_and_writes_nothing(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    repo = await register(client, keys)
    before = stack.event_count()
    response = await deliver(client, repo, body=encoded(repo.payload(ref="refs/heads/main\u0000")))
    assert response.status_code == 400, response.text
    assert "'ref'" in response.json()["detail"]
    assert stack.event_count() == before


# -- what schemathesis found (tests/integration/test_schemathesis.py), each pinned here --------
async def test_a_body_that_is_not_utf8_is_422_not_a_bare_400(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    headers = {**keys.headers(new_tenant()), "Content-Type": "application/json"}
    response = await client.post("/jobs", content=b'{"goal": "\xff"}', headers=headers)
    assert response.status_code == 422, response.text
    assert "not UTF-8" in response.json()["detail"]


async def test_a_wrong_method_names_every_method_of_the_path(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    response = await client.request("OPTIONS", "/jobs", headers=keys.headers(new_tenant()))
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"


async def test_the_openapi_document_says_what_the_gateway_answers(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    budget = spec["paths"]["/jobs/{job_id}/budget"]["post"]["responses"]
    assert {"401", "404", "409", "422"} <= set(budget)
    problem = {"$ref": "#/components/schemas/Problem"}
    assert budget["422"]["content"]["application/json"]["schema"] == problem
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    goal = spec["components"]["schemas"]["RequestJob"]["properties"]["goal"]
    assert (goal["maxLength"], goal["pattern"]) == (10_000, "^[^\\x00]*$")
    limit = spec["components"]["schemas"]["RaiseBudget"]["properties"]["limit_usd"]
    assert limit["maximum"] == 1_000_000
