"""The live demo and the agent bench index a job's repository before the job (the planner is
then shown its code): against the real indexer process (offline embeddings, real PostgreSQL
with pgvector and NATS); a repository outside the tenant's grants is refused with nothing
registered; with no indexer running the wait ends at its bound and says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from bdg_cli.index_first import index_for_job
from bdg_cli.index_progress import statuses
from bdg_jobs.repo_commands import RepoCommands
from bdg_jobs.sources import SourceError
from tests.e2e.conftest import Client_
from tests.e2e.harness import Cluster
from tests.e2e.test_index_cli import FILES, make_repo

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]


def repo_commands(client: Client_, database_url: str) -> RepoCommands:
    app = client.app
    return RepoCommands(
        client.store, database_url, app.publisher, app.clock, sources=client.commands.sources
    )


async def test_the_repository_is_indexed_before_the_job(
    cluster: Cluster, client: Client_, tmp_path: Path
) -> None:
    source = tmp_path / "tools"
    source.mkdir()
    make_repo(source)
    env = {"BDG_EMBEDDINGS": "offline", "BDG_INDEX_DIR": str(tmp_path / "index")}
    cluster.start("indexer", module="bdg_indexer.main", env=env)
    repos = repo_commands(client, cluster.database_url)

    indexed = await index_for_job(
        repos, cluster.database_url, client.caller, str(source), "HEAD", 180
    )

    assert indexed.ready, indexed
    assert indexed.files == len(FILES)
    assert indexed.chunks >= len(FILES)
    assert indexed.describe() == f"indexed: {len(FILES)} files, {indexed.chunks} chunks"
    again = await index_for_job(repos, cluster.database_url, client.caller, str(source), "HEAD", 5)
    assert again == indexed  # registered already: the same index, no new work


async def test_a_repository_outside_the_grants_is_refused_and_nothing_registered(
    cluster: Cluster, client: Client_, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("not-granted")
    make_repo(elsewhere)
    repos = repo_commands(client, cluster.database_url)
    with pytest.raises(SourceError):
        await index_for_job(repos, cluster.database_url, client.caller, str(elsewhere), "HEAD", 5)
    rows = statuses(cluster.database_url, client.caller.tenant_id)
    assert [r for r in rows if r.repo.startswith(str(elsewhere))] == []


async def test_with_no_indexer_the_wait_ends_at_its_bound_and_says_why(
    cluster: Cluster, client: Client_, tmp_path: Path
) -> None:
    source = tmp_path / "tools"
    source.mkdir()
    make_repo(source)
    repos = repo_commands(client, cluster.database_url)

    indexed = await index_for_job(
        repos, cluster.database_url, client.caller, str(source), "HEAD", 1
    )

    assert not indexed.ready
    assert indexed.state == "pending"
    assert indexed.describe() == (
        "not indexed (pending): no indexer took it up after 1 s; the plan is made without code"
    )
