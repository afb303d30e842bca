"""Chat threads: persisted per user, in order, linked to the caller's jobs, exported and imported
back; a malformed import writes nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.gateway_stack import Keys, new_tenant
from tests.integration.gateway_calls import create

pytestmark = pytest.mark.timeout(60)


async def thread(client: httpx.AsyncClient, headers: dict[str, str], title: str = "t") -> str:
    made = await client.post("/threads", json={"title": title}, headers=headers)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def listed(client: httpx.AsyncClient, headers: dict[str, str]) -> list[Any]:
    page = await client.get("/threads", headers=headers)
    assert page.status_code == 200, page.text
    return list(page.json()["items"])


async def test_messages_keep_their_order_and_link_the_callers_jobs(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    tenant = new_tenant()
    me = keys.headers(tenant)
    job = (await create(client, keys, tenant))["id"]
    thread_id = await thread(client, me, "health route")
    for body in (
        {"text": "add a /health route", "job_id": job},
        {"text": "job started", "role": "agent"},
    ):
        posted = await client.post(f"/threads/{thread_id}/messages", json=body, headers=me)
        assert posted.status_code == 201, posted.text
    got = (await client.get(f"/threads/{thread_id}", headers=me)).json()
    assert [(m["seq"], m["role"], m["text"], m["job_id"]) for m in got["messages"]] == [
        (1, "user", "add a /health route", job),
        (2, "agent", "job started", None),
    ]


async def test_concurrent_messages_get_distinct_numbers(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    me = keys.headers(new_tenant())
    thread_id = await thread(client, me)
    answers = await asyncio.gather(
        *(
            client.post(f"/threads/{thread_id}/messages", json={"text": f"m{i}"}, headers=me)
            for i in range(10)
        )
    )
    assert sorted(a.json()["seq"] for a in answers) == list(range(1, 11))


async def test_a_thread_is_its_users_alone(client: httpx.AsyncClient, keys: Keys) -> None:
    tenant = new_tenant()
    alice, bob = keys.headers(tenant, sub="alice"), keys.headers(tenant, sub="bob")
    thread_id = await thread(client, alice)
    for path in (f"/threads/{thread_id}", f"/threads/{thread_id}/export"):
        assert (await client.get(path, headers=bob)).status_code == 404
    said = await client.post(f"/threads/{thread_id}/messages", json={"text": "x"}, headers=bob)
    assert said.status_code == 404
    assert await listed(client, bob) == []


async def test_a_job_of_another_tenant_is_refused_naming_the_field(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    me, other = new_tenant(), new_tenant()
    foreign = (await create(client, keys, other))["id"]
    thread_id = await thread(client, keys.headers(me))
    body = {"text": "x", "job_id": foreign}
    answer = await client.post(
        f"/threads/{thread_id}/messages", json=body, headers=keys.headers(me)
    )
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("body.job_id: no job")
    got = (await client.get(f"/threads/{thread_id}", headers=keys.headers(me))).json()
    assert got["messages"] == []


async def test_export_then_import_gives_the_same_conversation(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    tenant = new_tenant()
    me = keys.headers(tenant)
    job = (await create(client, keys, tenant))["id"]
    thread_id = await thread(client, me, "notes app")
    await client.post(
        f"/threads/{thread_id}/messages", json={"text": "g", "job_id": job}, headers=me
    )
    await client.post(
        f"/threads/{thread_id}/messages", json={"text": "ok", "role": "agent"}, headers=me
    )
    export = (await client.get(f"/threads/{thread_id}/export", headers=me)).json()
    assert export["format"] == "bdg-thread/1"
    imported = await client.post("/threads/import", json=export, headers=me)
    assert imported.status_code == 201, imported.text
    copy = imported.json()
    assert copy["id"] != thread_id
    assert copy["title"] == "notes app"
    again = (await client.get(f"/threads/{copy['id']}/export", headers=me)).json()
    assert again == export


@pytest.mark.parametrize(
    ("export", "field"),
    [
        ({"format": "other/1", "title": "t", "messages": []}, "body.format"),
        ({"format": "bdg-thread/1", "messages": []}, "body.title"),
        (
            {
                "format": "bdg-thread/1",
                "title": "t",
                "messages": [
                    {"role": "user", "text": "fine", "at": "2026-01-01T00:00:00Z"},
                    {"role": "robot", "text": "bad", "at": "2026-01-01T00:00:00Z"},
                ],
            },
            "body.messages.1.role",
        ),
        ({"format": "bdg-thread/1", "title": "t", "messages": [], "extra": 1}, "body.extra"),
    ],
)
async def test_a_malformed_import_names_the_field_and_writes_nothing(
    client: httpx.AsyncClient, keys: Keys, export: dict[str, Any], field: str
) -> None:
    me = keys.headers(new_tenant())
    answer = await client.post("/threads/import", json=export, headers=me)
    assert answer.status_code == 422
    assert field in answer.json()["detail"], answer.json()
    assert await listed(client, me) == []
