"""GET /search through the gateway (in-process, ASGI) to the real indexer process over NATS, on
real PostgreSQL (pgvector): repositories registered with RepoCommands (local git repositories
made in tmp_path, granted to the test's tenants), indexed by the indexer with the fake OpenAI
embeddings endpoint; then searched as their tenant, as another tenant, and with a query
embedding that hangs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI

from bdg_contracts import commands as cmd
from bdg_contracts import index_events as ix
from bdg_jobs.application import utc_now
from bdg_jobs.domain import Cause
from bdg_jobs.repo_commands import RepoCommands
from bdg_jobs.sources import SourceRules
from tests.e2e.harness import Cluster
from tests.fakes.openai_server import FakeOpenAi, Hang
from tests.gateway_stack import Keys, Stack
from tests.git_repos import make_repo
from tests.waiting import eventually

pytestmark = [pytest.mark.timeout(90), pytest.mark.slow]

LEDGER = {
    "src/ledger.py": (
        "def balance_ledger(ledger):\n"
        '    """Balance the ledger: every ledger entry debits and credits alike."""\n'
        "    return sum(entry.amount for entry in ledger)\n"
    ),
    "src/report.py": "def report(ledger):\n    return f'ledger of {len(ledger)} entries'\n",
    "src/audit.py": "def audit(ledger):\n    return [e for e in ledger if e.amount < 0]\n",
    "README.md": "# Books\n\nA small repository for the gateway's search tests.\n",
}
ELSEWHERE = {"lib/ledger_io.py": "def load_ledger(path):\n    return open(path).read()\n"}


@dataclass
class Indexed:
    """The gateway in-process, the indexer as a process, and how to register a repository."""

    http: httpx.AsyncClient
    gateway: FastAPI
    keys: Keys
    stack: Stack
    fake: FakeOpenAi
    tmp_path: Path

    @property
    def repos(self) -> RepoCommands:
        repos: RepoCommands = self.gateway.state.index.repos
        return repos

    async def register(self, tenant: str, name: str, files: dict[str, str]) -> tuple[UUID, str]:
        """A new local git repository registered under the test's dir (granted to the tenant,
        as Cluster.grants() grants it to the indexer), once the indexer has recorded
        IndexUpdated; (id, its path)."""
        source = self.tmp_path / tenant / name
        make_repo(source, files)
        url = str(source)
        cause = Cause("user:alice", utc_now(), user_id="alice")
        granted = SourceRules({tenant: (self.tmp_path,)})
        repos = RepoCommands(
            self.stack.store, self.stack.database_url, self.stack.app.publisher, sources=granted
        )
        done = await repos.register(cause, tenant, cmd.RegisterRepo(repo=url, ref="main"))
        repo_id = done.index.repo_id

        async def outcome() -> ix.IndexUpdated | ix.IndexFailed | None:
            history = await asyncio.to_thread(self.stack.store.history, repo_id)
            found = [e for e in history if isinstance(e, ix.IndexUpdated | ix.IndexFailed)]
            return found[0] if found else None

        result = await eventually(outcome, 30, f"the indexer to index {url}")
        assert isinstance(result, ix.IndexUpdated), result
        assert result.files == len(files)
        return repo_id, url

    async def search(self, tenant: str, **params: str | int) -> httpx.Response:
        return await self.http.get("/search", params=params, headers=self.keys.headers(tenant))


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAi]:
    fake = FakeOpenAi(api_key="test-key").start()
    yield fake
    fake.stop()


@pytest.fixture
async def indexed(
    cluster: Cluster,
    stack: Stack,
    gateway: FastAPI,
    keys: Keys,
    fake_openai: FakeOpenAi,
    tmp_path: Path,
) -> AsyncIterator[Indexed]:
    env = {
        "BDG_EMBEDDINGS": "openai",
        "OPENAI_BASE_URL": fake_openai.base_url,
        "OPENAI_API_KEY": "test-key",
        "BDG_LLM_BACKOFF_SECONDS": "0.05",
        "BDG_INDEX_DIR": str(tmp_path / "index"),
    }
    cluster.start("indexer", module="bdg_indexer.main", env=env)
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        yield Indexed(http, gateway, keys, stack, fake_openai, tmp_path)


async def test_search_finds_the_function_in_the_tenants_repository(indexed: Indexed) -> None:
    tenant = "acme"  # a tenant Cluster.grants() grants
    _, url = await indexed.register(tenant, "books", LEDGER)
    _, elsewhere = await indexed.register(tenant, "other", ELSEWHERE)
    spelled = f"{url}/"
    params: dict[str, str | int] = {"q": "ledger", "repo": spelled, "mode": "fulltext"}

    response = await indexed.search(tenant, **params, limit=2, token_budget=2000)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["repo"], body["mode"], body["error"]) == (url, "fulltext", "")
    hits = body["hits"]
    assert len(hits) == 2  # three files of the repository match: the limit holds
    assert hits[0]["path"] == "src/ledger.py"
    assert "def balance_ledger(ledger):" in hits[0]["snippet"]
    assert (hits[0]["start_line"], hits[0]["language"]) == (1, "python")
    assert {hit["repo"] for hit in hits} == {url}  # the other repository is filtered out

    everywhere = await indexed.search(tenant, q="ledger", mode="fulltext", limit=10)
    assert {hit["repo"] for hit in everywhere.json()["hits"]} == {url, elsewhere}

    budget = hits[0]["token_count"]
    tight = await indexed.search(tenant, **params, limit=3, token_budget=budget)
    assert tight.status_code == 200, tight.text
    kept = tight.json()["hits"]
    assert kept[0] == hits[0]
    assert sum(hit["token_count"] for hit in kept) <= budget
    assert len(kept) < 3


async def test_another_tenant_gets_404_for_the_repository_id_and_none_of_its_hits(
    indexed: Indexed,
) -> None:
    ours, theirs = "acme", "globex"  # granted by Cluster.grants()
    repo_id, url = await indexed.register(ours, "books", LEDGER)
    _, their_url = await indexed.register(theirs, "books", LEDGER)  # the same files

    mine = await indexed.search(ours, q="balance the ledger", repo=str(repo_id))
    assert mine.status_code == 200, mine.text
    assert mine.json()["repo"] == url
    assert mine.json()["hits"][0]["path"] == "src/ledger.py"

    refused = await indexed.search(theirs, q="balance the ledger", repo=str(repo_id))
    assert refused.status_code == 404
    assert refused.json()["detail"] == f"no repository {repo_id}"

    unscoped = await indexed.search(theirs, q="balance the ledger", limit=20)
    assert unscoped.status_code == 200, unscoped.text
    assert unscoped.json()["hits"]  # their own copy, never ours
    assert {hit["repo"] for hit in unscoped.json()["hits"]} == {their_url}
    by_url = await indexed.search(theirs, q="balance the ledger", repo=url)
    assert by_url.status_code == 200
    assert by_url.json()["hits"] == []  # our URL names nothing of theirs


async def test_a_query_embedding_that_hangs_is_a_504(indexed: Indexed) -> None:
    tenant = "acme"
    await indexed.register(tenant, "books", LEDGER)
    indexed.gateway.state.index.search_timeout = 0.5
    hang = Hang()
    indexed.fake.push_embeddings(hang)
    try:
        response = await indexed.search(tenant, q="balance the ledger")
        assert response.status_code == 504
        assert response.json()["detail"] == "the indexer did not answer in 0.5s"
        assert hang.arrived.is_set()  # the indexer was embedding the query
    finally:
        hang.release.set()
    # The indexer is still there: the next search is answered, by embedding its query.
    asked = len(indexed.fake.embedding_requests)
    indexed.gateway.state.index.search_timeout = 10
    again = await indexed.search(tenant, q="balance the ledger")
    assert again.status_code == 200, again.text
    assert again.json()["hits"][0]["path"] == "src/ledger.py"
    assert len(indexed.fake.embedding_requests) > asked
