"""The search responder on real NATS and PostgreSQL: every request answered once by one copy,
tenants apart, and an answer with ``error`` (never silence) for what cannot be searched."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import nats
import pytest
from nats.aio.client import Client

from bdg_contracts import subjects
from bdg_contracts import tool_events as tev
from bdg_indexer.chunks import Chunk
from bdg_indexer.search.responder import SearchResponder
from bdg_indexer.storage.spaces import EmbeddingSpace
from bdg_indexer.storage.vectors import ChunkStore
from tests.conftest import Servers
from tests.fakes.openai_server import fake_embedding

pytestmark = pytest.mark.timeout(60)
SPACE = EmbeddingSpace("hash-test", 16)


class CountingEmbedder:
    model_name = SPACE.model_name
    dims = SPACE.dims

    def __init__(self) -> None:
        self.calls = 0

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        return [fake_embedding(t, self.dims) for t in texts]


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[ChunkStore]:
    opened = await ChunkStore.open(database_url, SPACE)
    yield opened
    await opened.close()


@pytest.fixture
async def nc(servers: Servers, namespace: str) -> AsyncIterator[Client]:
    client = await nats.connect(servers.nats_url)
    yield client
    await client.close()


def chunk(path: str, text: str) -> Chunk:
    return Chunk(path, "b" * 40, 0, 1, text.count("\n") + 1, "python", 12, text)


async def ask(nc: Client, request: tev.SearchCode | bytes) -> tev.CodeSearched:
    data = request if isinstance(request, bytes) else request.model_dump_json().encode()
    reply = await nc.request(subjects.code_search(), data, timeout=5)
    return tev.CodeSearched.model_validate_json(reply.data)


async def test_copies_share_the_requests_and_tenants_stay_apart(
    store: ChunkStore, nc: Client
) -> None:
    texts = {"acme": "def parse_invoice(pdf): ...", "globex": "def parse_invoice(xml): ..."}
    for tenant, text in texts.items():
        await store.upsert(
            tenant, "https://git.example/r", [(chunk("inv.py", text), fake_embedding(text, 16))]
        )

    async def opened() -> ChunkStore:
        return store

    embedders = [CountingEmbedder(), CountingEmbedder()]
    subs = [await SearchResponder(opened, e).subscribe(nc) for e in embedders]
    for _ in range(6):
        found = await ask(nc, tev.SearchCode(tenant_id="acme", query="parse invoice pdf"))
        assert [h.snippet for h in found.hits] == [texts["acme"]]
        assert found.hits[0].repo == "https://git.example/r"
    assert sum(e.calls for e in embedders) == 6  # each request embedded by one copy only
    scoped = await ask(
        nc, tev.SearchCode(tenant_id="globex", repo="https://GIT.example/r.git", query="invoice")
    )
    assert [h.snippet for h in scoped.hits] == [texts["globex"]]
    nobody = await ask(nc, tev.SearchCode(tenant_id="initech", query="parse invoice"))
    assert nobody == tev.CodeSearched()
    for sub in subs:
        await sub.unsubscribe()


async def test_what_cannot_be_searched_is_answered_with_an_error(
    database_url: str, nc: Client
) -> None:
    broken = await ChunkStore.open(database_url, SPACE)
    await broken.close()  # a store whose database is gone

    async def opened() -> ChunkStore:
        return broken

    sub = await SearchResponder(opened, CountingEmbedder(), timeout=2).subscribe(nc)
    bad = await ask(nc, b"not json")
    assert bad.error.startswith("bad request: ")
    too_long = await ask(nc, b'{"tenant_id": "a", "query": "q", "limit": 1000}')
    assert too_long.error.startswith("bad request: limit")
    failed = await ask(nc, tev.SearchCode(tenant_id="acme", query="anything", mode="fulltext"))
    assert failed.error.startswith("search failed: ")
    assert failed.hits == ()
    await sub.unsubscribe()
