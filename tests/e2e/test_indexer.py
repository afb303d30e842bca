"""The indexer as a process: registrations and pushes in, IndexUpdated/IndexFailed and chunks in
pgvector out, searches over NATS; on real PostgreSQL (pgvector) and NATS, with small git
repositories made in tmp_path. Embeddings from the fake OpenAI endpoint (fast, deterministic;
a Hang makes "killed in the middle" exact) and, in one test, the real offline model."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from nats.aio.client import Client

from bdg_contracts import commands as cmd
from bdg_contracts import index_events as ix
from bdg_contracts import subjects, wire
from bdg_contracts import tool_events as tev
from bdg_indexer.storage.spaces import EmbeddingSpace
from bdg_indexer.storage.status import EMBEDDING
from bdg_jobs.application import utc_now
from bdg_jobs.domain import Cause
from bdg_jobs.repo_commands import RepoCommands
from bdg_jobs.repos import RepoIndex
from bdg_jobs.sources import SourceError, SourceRules
from bdg_jobs.store import JobStore
from bdg_runtime.bus import JetStreamPublisher, connect, ensure_streams
from tests.conftest import Servers
from tests.e2e.harness import Cluster
from tests.fakes.openai_server import Embed, Failure, FakeOpenAi, Hang
from tests.git_repos import commit, git, make_repo
from tests.waiting import eventually

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]

FAKE_SPACE = EmbeddingSpace("text-embedding-3-small", 1536)
OFFLINE_SPACE = EmbeddingSpace("all-MiniLM-L6-v2-int8", 384)
FILES = {
    "app/retry.py": "def retry(call, attempts=3):\n    for n in range(attempts):\n"
    "        try:\n            return call()\n        except OSError:\n            pass\n",
    "app/users.py": "class Users:\n    def __init__(self):\n        self.names = []\n\n"
    "    def add(self, name):\n        self.names.append(name)\n",
    "web/cart.js": "export function total(items) {\n"
    "  return items.reduce((s, i) => s + i.price, 0);\n}\n",
    "docs/guide.md": "# Guide\n\nInstall with pip.\n\n## Usage\n\nCall retry around flaky calls.\n",
    "README.md": "# Demo\n\nA small repository for the indexer tests.\n",
}


@dataclass
class Repos:
    store: JobStore
    nc: Client
    commands: RepoCommands
    database_url: str
    pushes: int = 0

    async def register(self, tenant: str, source: str, ref: str = "main") -> UUID:
        cause = Cause("user:alice", utc_now(), user_id="alice")
        done = await self.commands.register(cause, tenant, cmd.RegisterRepo(repo=source, ref=ref))
        return done.index.repo_id

    async def recorded_before_the_rules(self, tenant: str, source: str) -> UUID:
        """A registration appended as it was before sources were checked at registration: the
        indexer must judge the source again where it reads it."""
        cause = Cause("user:alice", utc_now(), user_id="alice")
        index = RepoIndex.register(tenant, cause, source, ref="main")
        recorded = await asyncio.to_thread(self.store.append, index.collect())
        await self.commands.publisher.publish(recorded)
        return index.repo_id

    async def push(self, repo_id: UUID, after: str, ref: str = "refs/heads/main") -> None:
        self.pushes += 1
        cause = Cause("gateway", utc_now())
        await self.commands.push(
            repo_id, cause, provider="github", delivery_id=f"d{self.pushes}", ref=ref, after=after
        )

    async def outcomes(self, repo_id: UUID, n: int, timeout: float = 30) -> list[ix.RepoEvent]:
        """The first ``n`` IndexUpdated/IndexFailed of the repository, once there are ``n``."""

        async def probe() -> list[ix.RepoEvent] | None:
            history = await asyncio.to_thread(self.store.history, repo_id)
            found = [e for e in history if isinstance(e, ix.IndexUpdated | ix.IndexFailed)]
            return found if len(found) >= n else None

        return (await eventually(probe, timeout, f"{n} outcome(s) of {repo_id}"))[:n]

    def rows(self, space: EmbeddingSpace, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url) as conn:
            return conn.execute(sql.format(table=space.table), params).fetchall()

    def chunks(self, space: EmbeddingSpace, tenant: str) -> dict[str, int]:
        rows = self.rows(
            space, "SELECT path, count(*) FROM {table} WHERE tenant = %s GROUP BY path", tenant
        )
        return dict(rows)  # type: ignore[arg-type]

    def status(self, repo_id: UUID) -> dict[str, Any]:
        with psycopg.connect(self.database_url) as conn:
            cur = conn.execute("SELECT * FROM bdg_index_status WHERE repo_id = %s", (repo_id,))
            row = cur.fetchone()
            assert row is not None
            assert cur.description is not None
            return {d.name: v for d, v in zip(cur.description, row, strict=True)}

    async def search(self, request: tev.SearchCode) -> tev.CodeSearched:
        reply = await self.nc.request(
            subjects.code_search(), request.model_dump_json().encode(), timeout=10
        )
        return tev.CodeSearched.model_validate_json(reply.data)


@pytest.fixture
async def repos(
    database_url: str, namespace: str, servers: Servers, tmp_path: Path
) -> AsyncIterator[Repos]:
    store = JobStore.from_url(database_url)
    nc = await connect(servers.nats_url, "e2e-indexer")
    js = nc.jetstream()
    await ensure_streams(js, 600)
    # As Cluster.grants() grants it to the indexer process: the test's dir, to both tenants.
    granted = SourceRules({t: (tmp_path,) for t in ("acme", "globex")}, (tmp_path / "index",))
    commands = RepoCommands(store, database_url, JetStreamPublisher(js), sources=granted)
    yield Repos(store, nc, commands, database_url)
    await nc.close()
    store.close()


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAi]:
    fake = FakeOpenAi(api_key="test-key").start()
    yield fake
    fake.stop()


def fake_env(fake: FakeOpenAi, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "BDG_EMBEDDINGS": "openai",
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_API_KEY": "test-key",
        "BDG_LLM_BACKOFF_SECONDS": "0.05",
        "BDG_INDEX_DIR": str(tmp_path / "index"),
        **extra,
    }


def duplicates(repos: Repos, space: EmbeddingSpace) -> int:
    [(total, distinct)] = repos.rows(
        space,
        "SELECT count(*), count(DISTINCT (tenant, repo, path, blob_sha, chunk_no)) FROM {table}",
    )
    return int(total) - int(distinct)


async def test_register_then_pushes_index_only_what_changed(
    cluster: Cluster, repos: Repos, fake_openai: FakeOpenAi, tmp_path: Path
) -> None:
    env = fake_env(fake_openai, tmp_path, BDG_LLM_MAX_RETRIES="0")
    cluster.start("indexer", module="bdg_indexer.main", env=env)
    source = tmp_path / "src"
    first = make_repo(source, FILES)
    repo_id = await repos.register("acme", str(source))
    with pytest.raises(SourceError, match="no such directory"):
        await repos.register("acme", f"{tmp_path}/no-such-repository")
    missing = await repos.recorded_before_the_rules("acme", f"{tmp_path}/no-such-repository")
    relative = await repos.recorded_before_the_rules("acme", "some/relative/path")
    [indexed] = await repos.outcomes(repo_id, 1)
    assert isinstance(indexed, ix.IndexUpdated), indexed
    per_path = repos.chunks(FAKE_SPACE, "acme")
    assert set(per_path) == set(FILES)
    total = sum(per_path.values())
    assert (indexed.commit, indexed.files, indexed.chunks) == (first, len(FILES), total)
    assert (indexed.embedded, indexed.reused, indexed.removed_files) == (total, 0, 0)
    assert indexed.space == "text-embedding-3-small/1536"
    assert indexed.tokens > 0
    assert indexed.cost_usd == pytest.approx(indexed.tokens * 0.02 / 1e6)
    status = repos.status(repo_id)
    assert (status["state"], status["commit"], status["chunks"]) == ("ready", first, total)
    assert (status["done"], status["total"], status["files"]) == (len(FILES), len(FILES), 5)

    # One file changes: only its chunks are embedded again.
    changed = "def retry(call, attempts=5):\n    return call()  # zebra\n"
    second = commit(source, {"app/retry.py": changed}, "shorter retry")
    await repos.push(repo_id, second)
    # A push to another branch, then the same push delivered again: nothing for either.
    await repos.push(repo_id, first, ref="refs/heads/other")
    pushed = [e for e in repos.store.history(repo_id) if isinstance(e, ix.RepoPushed)]
    again = pushed[0]
    await repos.nc.jetstream().publish(
        subjects.subject_of(again),
        wire.encode(again),
        headers={**wire.headers_for(again), "Nats-Msg-Id": "redelivered"},
    )
    # Deletion and rename in one push.
    git(source, "mv", "docs/guide.md", "docs/manual.md")
    third = commit(source, {"web/cart.js": None}, "rename and delete")
    await repos.push(repo_id, third)
    _, updated, renamed = await repos.outcomes(repo_id, 3)
    assert isinstance(updated, ix.IndexUpdated), updated
    retry_chunks = repos.rows(
        FAKE_SPACE,
        "SELECT count(*) FROM {table} WHERE path = 'app/retry.py' AND tenant = 'acme'",
    )[0][0]
    assert (updated.commit, updated.embedded, updated.reused) == (second, retry_chunks, total - 1)
    assert isinstance(renamed, ix.IndexUpdated), renamed
    assert renamed.commit == third
    assert renamed.removed_files == 2  # web/cart.js deleted, docs/guide.md renamed away
    assert set(repos.chunks(FAKE_SPACE, "acme")) == {
        "app/retry.py",
        "app/users.py",
        "docs/manual.md",
        "README.md",
    }
    # The renamed file's blob is new at its path: embedded again, everything else reused.
    assert renamed.embedded == repos.chunks(FAKE_SPACE, "acme")["docs/manual.md"]
    history = repos.store.history(repo_id)
    causes = [e.causation_id for e in history if e.producer == "indexer"]
    assert len(causes) == len(set(causes)) == 3  # registration, two pushes; nothing twice
    assert duplicates(repos, FAKE_SPACE) == 0
    assert repos.status(repo_id)["commit"] == third

    # Sources recorded before the rules, judged again by the indexer: IndexFailed saying why.
    [failed] = await repos.outcomes(missing, 1)
    assert isinstance(failed, ix.IndexFailed), failed
    assert "no such directory" in failed.reason
    assert repos.status(missing)["state"] == "failed"
    assert "no such directory" in repos.status(missing)["phase"]
    [refused] = await repos.outcomes(relative, 1)
    assert isinstance(refused, ix.IndexFailed)
    assert "must be absolute" in refused.reason

    # Searching over NATS finds the new content.
    found = await repos.search(tev.SearchCode(tenant_id="acme", query="zebra attempts", limit=3))
    assert not found.error
    assert found.hits[0].path == "app/retry.py"
    assert "zebra" in found.hits[0].snippet

    # The embeddings endpoint down at every delivery: retried, then IndexFailed (no job to fail).
    fake_openai.push_embeddings(Failure(503), Failure(503), Failure(503))
    other = tmp_path / "other"
    make_repo(other, {"x.py": "x = 1\n"})
    down = await repos.register("acme", str(other))
    [gave_up] = await repos.outcomes(down, 1)
    assert isinstance(gave_up, ix.IndexFailed), gave_up
    assert gave_up.reason.startswith("gave up after 3 deliveries: text-embedding-3-small")
    assert "503" in gave_up.reason
    assert repos.status(down)["state"] == "failed"


async def test_a_run_killed_in_the_middle_resumes_without_duplicates(
    cluster: Cluster, repos: Repos, fake_openai: FakeOpenAi, tmp_path: Path
) -> None:
    files = {f"pkg/mod{n:02}.py": f"def handler_{n}(event):\n    return {n}\n" for n in range(12)}
    source = tmp_path / "src"
    make_repo(source, files)
    hang = Hang()
    fake_openai.push_embeddings(Embed(), hang)  # page 1 is embedded, page 2 never answers
    env = fake_env(fake_openai, tmp_path, BDG_INDEX_BATCH="4")
    first = cluster.start("indexer", module="bdg_indexer.main", env=env)
    repo_id = await repos.register("acme", str(source))  # a local path, as the CLI sends it

    async def one_page_embedded() -> bool:
        if not hang.arrived.is_set():  # no status row before the indexer starts
            return False
        status = await asyncio.to_thread(repos.status, repo_id)
        return bool(status["phase"] == EMBEDDING and status["done"] >= 4)

    await eventually(one_page_embedded, 30, "the first page embedded, the second embedding")
    first.kill9()
    hang.release.set()
    # Every chunk stored (found by full text) before the first was embedded; 4 with vectors.
    assert repos.chunks(FAKE_SPACE, "acme") == {f"pkg/mod{n:02}.py": 1 for n in range(12)}
    assert repos.rows(FAKE_SPACE, "SELECT count(*) FROM {table} WHERE embedding IS NOT NULL") == [
        (4,)
    ]
    cluster.start("indexer", module="bdg_indexer.main", env=env)
    [indexed] = await repos.outcomes(repo_id, 1)
    assert isinstance(indexed, ix.IndexUpdated), indexed
    assert (indexed.files, indexed.chunks, indexed.embedded, indexed.reused) == (12, 12, 8, 4)
    assert duplicates(repos, FAKE_SPACE) == 0
    answered = [r["input"] for r in fake_openai.embedding_requests]
    assert [len(batch) for batch in answered] == [4, 4, 4, 4]  # the hung batch asked twice
    assert repos.status(repo_id)["state"] == "ready"


async def test_search_over_nats_with_the_offline_model_keeps_tenants_apart(
    cluster: Cluster, repos: Repos, tmp_path: Path
) -> None:
    env = {"BDG_EMBEDDINGS": "offline", "BDG_INDEX_DIR": str(tmp_path / "index")}
    cluster.start("indexer", module="bdg_indexer.main", env=env)
    ours, theirs = tmp_path / "acme-src", tmp_path / "globex-src"
    make_repo(ours, FILES)
    make_repo(theirs, FILES)  # the very same files, for another tenant
    acme = await repos.register("acme", str(ours))
    globex = await repos.register("globex", str(theirs))
    await repos.outcomes(acme, 1, timeout=60)
    await repos.outcomes(globex, 1, timeout=60)
    # The mirrors are per tenant, in the index dir: state, never anyone's source.
    mirror = tmp_path / "index" / "acme" / str(acme)
    assert (mirror / ".git").is_dir()
    with pytest.raises(SourceError, match="in the state dir"):
        await repos.register("globex", str(mirror))
    stolen = await repos.recorded_before_the_rules("globex", str(mirror))
    [refused] = await repos.outcomes(stolen, 1, timeout=60)
    assert isinstance(refused, ix.IndexFailed), refused
    assert "in the state dir" in refused.reason
    zebra = (
        'def feed_the_zebra(hay):\n    """Give hay to the zebra at the zoo."""\n    return hay\n'
    )
    await repos.push(acme, commit(ours, {"app/zoo.py": zebra}, "zebras"))
    [_, pushed] = await repos.outcomes(acme, 2, timeout=60)
    assert isinstance(pushed, ix.IndexUpdated), pushed
    assert pushed.embedded == 1
    assert pushed.space == "all-MiniLM-L6-v2-int8/384"
    assert pushed.cost_usd == 0

    question = "feed hay to the zebra"
    found = await repos.search(tev.SearchCode(tenant_id="acme", query=question))
    assert not found.error
    assert found.hits[0].path == "app/zoo.py"
    assert found.hits[0].repo == str(ours)
    theirs_found = await repos.search(
        tev.SearchCode(tenant_id="globex", query=f"{question} or retry", limit=20)
    )
    assert theirs_found.hits  # their own chunks (retry), never ours
    assert all("zebra" not in hit.snippet for hit in theirs_found.hits)
    assert {hit.repo for hit in theirs_found.hits} == {str(theirs)}
    # Meaning, not words: the retry helper answers a question that shares no word with it.
    flaky = await repos.search(
        tev.SearchCode(tenant_id="globex", query="call again when it fails", mode="vector")
    )
    assert "app/retry.py" in [hit.path for hit in flaky.hits[:2]]
    # Only one repository, and a token budget that the first hit alone fills.
    scoped = await repos.search(
        tev.SearchCode(tenant_id="acme", repo=f"{ours}/", query=question, token_budget=40)
    )
    assert [hit.path for hit in scoped.hits] == ["app/zoo.py"]
    # A bad request gets an answer saying why, never silence.
    reply = await repos.nc.request(subjects.code_search(), b'{"query": ""}', timeout=10)
    bad = tev.CodeSearched.model_validate_json(reply.data)
    assert bad.hits == ()
    assert bad.error.startswith("bad request: tenant_id")
