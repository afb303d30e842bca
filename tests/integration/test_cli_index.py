"""`bdg index add|status` and `bdg search` against real PostgreSQL and NATS (typer's runner in a
worker thread). Where the indexer would write its status rows, the test writes them as it would."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from typer.testing import CliRunner, Result

from bdg_cli.main import app
from bdg_contracts import index_events as ix
from bdg_contracts import subjects
from bdg_contracts import tool_events as tev
from bdg_jobs.domain import Cause
from bdg_jobs.repo_commands import RepoCommands
from bdg_jobs.sources import write_grants
from bdg_jobs.store import JobStore
from bdg_runtime.bus import connect
from tests.conftest import Servers
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(90)
ROOT = Path(__file__).resolve().parents[2]
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.M)


@dataclass
class Bdg:
    env: dict[str, str]
    database_url: str
    store: JobStore
    nc: Client

    async def __call__(self, *args: str, code: int = 0) -> Result:
        result = await asyncio.to_thread(CliRunner().invoke, app, list(args), env=self.env)
        assert "Traceback" not in result.output, result.output
        assert result.exit_code == code, f"bdg {' '.join(args)} -> {result.exit_code}\n" + (
            result.output
        )
        return result

    def write_status(self, repo_id: UUID, state: str, **row: Any) -> None:
        """What the indexer writes as it goes."""
        values = {"phase": "", "commit": None, "files": 0, "chunks": 0, "done": 0, "total": 0,
                  "errors": [], **row}  # fmt: skip
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO bdg_index_status (repo_id, tenant, repo, state, phase, commit, files,"
                " chunks, done, total, errors, updated_at) VALUES (%s, 'acme', 'r', %s, %s, %s,"
                " %s, %s, %s, %s, %s, now()) ON CONFLICT (repo_id) DO UPDATE SET"
                " state = EXCLUDED.state, phase = EXCLUDED.phase, commit = EXCLUDED.commit,"
                " files = EXCLUDED.files, chunks = EXCLUDED.chunks, done = EXCLUDED.done,"
                " total = EXCLUDED.total, errors = EXCLUDED.errors, updated_at = now()",
                (repo_id, state, values["phase"], values["commit"], values["files"],
                 values["chunks"], values["done"], values["total"], json.dumps(values["errors"])),
            )  # fmt: skip

    def registered(self, repo_id: UUID) -> bool:
        return bool(self.store.history(repo_id))


@pytest.fixture
async def bdg(
    database_url: str, namespace: str, servers: Servers, tmp_path: Path
) -> AsyncIterator[Bdg]:
    grants = tmp_path / "source-grants.json"
    write_grants(grants, {"acme": [tmp_path], "globex": [tmp_path]})
    env = {
        "DATABASE_URL": database_url,
        "NATS_URL": servers.nats_url,
        "BDG_NAMESPACE": namespace,
        "BDG_TENANT": "acme",
        "BDG_USER": "alice",
        "BDG_SOURCE_GRANTS": str(grants),
        "COLUMNS": "220",
    }
    store = JobStore.from_url(database_url)
    nc = await connect(servers.nats_url, "test-cli-index")
    try:
        yield Bdg(env, database_url, store, nc)
    finally:
        await nc.close()
        store.close()


def git_repo(root: Path) -> Path:
    """A work tree with one commit."""
    root.mkdir(parents=True)
    (root / "src").mkdir()
    (root / "src" / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(root)]
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "calc"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    return root


def first_id(result: Result) -> UUID:
    match = UUID_RE.search(result.stdout)
    assert match, result.stdout
    return UUID(match[0])


async def test_add_a_local_work_tree_without_waiting(bdg: Bdg, tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "calc")
    result = await bdg(
        "index", "add", str(repo), "--no-wait", "--include", "*.py", "--exclude", "vendor/*"
    )
    top = str(repo.resolve())
    repo_id = first_id(result)
    assert repo_id == ix.repo_id("acme", top)
    assert f"registered: {top} at HEAD" in result.stdout
    assert "webhook" not in result.stdout  # a local work tree gets no pushes
    [event] = bdg.store.history(repo_id)
    assert isinstance(event, ix.RepoRegistered)
    assert (event.repo, event.tenant_id, event.user_id) == (top, "acme", "alice")
    assert (event.filter.include, event.filter.exclude) == (("*.py",), ("vendor/*",))

    again = await bdg("index", "add", f"{repo}/", "--no-wait")
    assert first_id(again) == repo_id
    assert "registered already" in again.stdout
    assert len(bdg.store.history(repo_id)) == 1


async def test_add_a_url_prints_its_webhook_secret(bdg: Bdg) -> None:
    url = "https://git.example.com/acme/calc.git"
    result = await bdg("index", "add", url, "--no-wait", "--ref", "main")
    repo_id = first_id(result)
    secret = re.search(r"webhook secret: (\S+)", result.stdout)
    assert secret, result.stdout
    with psycopg.connect(bdg.database_url) as conn:
        row = conn.execute("SELECT secret FROM bdg_repo_hooks WHERE repo_id = %s", (repo_id,))
        assert row.fetchone() == (secret[1],)
    assert "/webhooks/git" in result.stdout


async def test_a_path_that_is_no_work_tree_is_a_clear_error(bdg: Bdg, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    result = await bdg("index", "add", str(plain), "--no-wait", code=2)
    assert f"repo: {plain} is not the top of a git work tree" in result.output
    below = await bdg("index", "add", str(git_repo(tmp_path / "calc") / "src"), "--no-wait", code=2)
    assert "is not the top of a git work tree" in below.output
    missing = await bdg("index", "add", str(tmp_path / "nowhere"), "--no-wait", code=2)
    assert "no such directory" in missing.output
    assert bdg.store.max_notification_id() == 0


async def test_add_follows_the_indexer_until_ready(bdg: Bdg, tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "calc")
    repo_id = ix.repo_id("acme", str(repo.resolve()))
    adding = asyncio.create_task(bdg("index", "add", str(repo)))
    await eventually(lambda: asyncio.to_thread(bdg.registered, repo_id), 30, "the registration")
    bdg.write_status(repo_id, "indexing", phase="embedding", done=1, total=4)
    assert not adding.done()
    bdg.write_status(repo_id, "ready", commit="c" * 40, files=3, chunks=9, done=4, total=4)
    result = await asyncio.wait_for(adding, 30)
    assert f"ready: 3 files, 9 chunks at {'c' * 12}" in result.stdout


async def test_add_exits_1_with_the_reason_when_indexing_fails(bdg: Bdg, tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "calc")
    repo_id = ix.repo_id("acme", str(repo.resolve()))
    adding = asyncio.create_task(bdg("index", "add", str(repo), code=1))
    await eventually(lambda: asyncio.to_thread(bdg.registered, repo_id), 30, "the registration")
    cause = Cause("indexer", datetime.now(UTC), "evt-1")
    repos = RepoCommands(bdg.store, bdg.database_url)
    await repos.execute(repo_id, lambda r: r.record_failure(cause, "git clone failed: no such ref"))
    bdg.write_status(repo_id, "failed", errors=[{"path": "", "reason": "clone"}])
    result = await asyncio.wait_for(adding, 30)
    assert "failed: git clone failed: no such ref" in result.output


async def test_status_lists_the_tenants_repositories(bdg: Bdg, tmp_path: Path) -> None:
    mine = first_id(await bdg("index", "add", str(git_repo(tmp_path / "a")), "--no-wait"))
    ready = first_id(await bdg("index", "add", str(git_repo(tmp_path / "b")), "--no-wait"))
    theirs = first_id(
        await bdg("index", "add", str(tmp_path / "a"), "--no-wait", "--tenant", "globex")
    )
    bdg.write_status(ready, "ready", commit="d" * 40, files=5, chunks=17,
                     errors=[{"path": "big.min.js", "reason": "generated"}])  # fmt: skip

    narrow = Bdg({**bdg.env, "COLUMNS": "80"}, bdg.database_url, bdg.store, bdg.nc)
    listed = (await narrow("index", "status")).stdout  # not a terminal: one line per repository
    assert len(listed.splitlines()) == 3, listed
    assert re.search(
        rf"^{ready}\s+ready\s+-\s+5\s+17\s+{'d' * 12}\s.*big.min.js: generated$", listed, re.M
    )
    records = json.loads((await bdg("index", "status", "--json")).stdout)
    assert {r["repo_id"]: (r["state"], r["files"], r["chunks"]) for r in records} == {
        str(mine): ("pending", 0, 0),
        str(ready): ("ready", 5, 17),
    }
    assert set(records[0]) == {
        "repo_id", "repo", "state", "phase", "done", "total", "files", "chunks", "commit",
        "errors", "updated_at",
    }  # fmt: skip
    assert str(mine) in listed
    assert str(theirs) not in listed
    assert re.search(rf"{mine}\s.*pending", listed)
    assert re.search(rf"{ready}\s.*ready\s.*\b5\b.*\b17\b.*{'d' * 12}", listed)
    assert "big.min.js: generated" in listed

    one = (await bdg("index", "status", str(ready))).stdout
    assert str(ready) in one
    assert str(mine) not in one
    refused = await bdg("index", "status", str(theirs), code=1)
    assert f"no repository {theirs}" in refused.output


async def test_status_follows_a_repository_being_indexed(bdg: Bdg, tmp_path: Path) -> None:
    repo_id = first_id(await bdg("index", "add", str(git_repo(tmp_path / "a")), "--no-wait"))
    bdg.write_status(repo_id, "indexing", phase="chunking", done=2, total=5)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bdg_cli.main", "index", "status",
        env={**os.environ, **bdg.env, "PYTHONUNBUFFERED": "1"}, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    try:
        said = await asyncio.wait_for(proc.stderr.readline(), 30)
        assert said.startswith(b"following 1 repositories being indexed"), said
        bdg.write_status(repo_id, "ready", files=1, chunks=2, done=5, total=5)
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
    assert re.search(rf"{repo_id}\s.*ready", out.decode()), out.decode()


async def test_search_without_an_indexer_exits_1(bdg: Bdg) -> None:
    result = await bdg("search", "add two numbers", code=1)
    assert "no indexer is running" in result.output


@contextlib.asynccontextmanager
async def indexer(nc: Client, answer: tev.CodeSearched) -> AsyncIterator[list[tev.SearchCode]]:
    """A stand-in for the indexer on the real bus: records what it is asked, answers ``answer``."""
    asked: list[tev.SearchCode] = []

    async def reply(msg: Msg) -> None:
        asked.append(tev.SearchCode.model_validate_json(msg.data))
        await msg.respond(answer.model_dump_json().encode())

    subscription = await nc.subscribe(subjects.code_search(), cb=reply)
    await nc.flush()
    try:
        yield asked
    finally:
        await subscription.unsubscribe()


async def test_search_prints_each_hit_with_its_place_score_and_snippet(
    bdg: Bdg, tmp_path: Path
) -> None:
    repo = git_repo(tmp_path / "calc")
    hit = tev.CodeHit(path="src/calc.py", start_line=1, end_line=2,
                      snippet="def add(a, b):\n    return a + b\n", score=0.8731,
                      language="python", repo=str(repo.resolve()))  # fmt: skip
    async with indexer(bdg.nc, tev.CodeSearched(hits=(hit,))) as asked:
        result = await bdg(
            "search", "add two numbers", "--repo", str(repo / "src"), "--mode", "vector",
            "--limit", "3",
        )  # fmt: skip
    assert asked == [
        tev.SearchCode(tenant_id="acme", repo=str(repo.resolve()), query="add two numbers",
                       limit=3, mode="vector")
    ]  # fmt: skip
    assert "src/calc.py:1-2  0.873  python" in result.stdout
    assert "    def add(a, b):\n        return a + b" in result.stdout


async def test_search_reports_the_indexers_refusal(bdg: Bdg) -> None:
    async with indexer(bdg.nc, tev.CodeSearched(error="no repository is indexed yet")):
        result = await bdg("search", "anything", code=1)
    assert "no repository is indexed yet" in result.output
