"""The gateway with its database gone: 503 with Retry-After (not 500), for writes and reads."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Servers, drop_database
from tests.gateway_stack import Keys, Stack

pytestmark = pytest.mark.timeout(120)


async def test_requests_are_503_while_the_database_is_unreachable(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, servers: Servers
) -> None:
    headers = keys.headers("acme")
    created = await client.post("/jobs", json={"goal": "before"}, headers=headers)
    assert created.status_code == 201
    drop_database(servers, stack.database_url)  # every connection ends, none can be made

    for answer in (
        await client.post("/jobs", json={"goal": "during"}, headers=headers),
        await client.get("/jobs", headers=headers),
        await client.get(f"/jobs/{created.json()['id']}", headers=headers),
    ):
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"]
        assert answer.json()["detail"].startswith("database unavailable, try again")
