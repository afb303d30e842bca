"""`bdg job create --repo` and `bdg index add` agree on what a path means (issue 12 finding 2):
a relative path is the caller's, resolved against its current directory before anything is
sent; a missing path, a folder below a work tree's top and a path outside the granted roots
get the same clear error from both, with nothing written. Real PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest
from typer.testing import CliRunner, Result

from bdg_cli.main import app
from bdg_cli.own_sandbox import default_roots, grant_roots
from bdg_contracts import index_events as ix
from bdg_jobs.domain import Job
from bdg_jobs.store import JobStore
from bdg_runtime.settings import Settings
from tests.conftest import Servers

pytestmark = pytest.mark.timeout(90)


@dataclass
class Bdg:
    env: dict[str, str]
    store: JobStore
    work: Path

    async def __call__(self, *args: str, code: int = 0) -> Result:
        result = await asyncio.to_thread(CliRunner().invoke, app, list(args), env=self.env)
        assert "Traceback" not in result.output, result.output
        assert result.exit_code == code, f"bdg {' '.join(args)} -> {result.exit_code}\n" + (
            result.output
        )
        return result


def git_repo(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("print('hi')\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(root)]
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "app"]):
        subprocess.run([*git, *args], check=True, capture_output=True, timeout=30)
    return root


@pytest.fixture
async def bdg(
    database_url: str,
    namespace: str,
    servers: Servers,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Bdg]:
    """The caller works in ``tmp_path/work``, granted to its tenant as `bdg up` started there
    grants it (BDG_HOME/source-grants.json, no BDG_SOURCE_GRANTS); ``tmp_path/elsewhere`` is
    not granted. The CLI runs in this process: its current directory is the caller's."""
    work, home = tmp_path / "work", tmp_path / "home"
    git_repo(work / "my-app")
    git_repo(tmp_path / "elsewhere" / "app")
    monkeypatch.chdir(work)
    monkeypatch.setenv("BDG_TENANT", "acme")
    monkeypatch.delenv("BDG_SOURCE_GRANTS", raising=False)
    grant_roots(Settings(bdg_home=home), default_roots(Settings(bdg_home=home)))
    env = {
        "DATABASE_URL": database_url,
        "NATS_URL": servers.nats_url,
        "BDG_NAMESPACE": namespace,
        "BDG_HOME": str(home),
        "BDG_TENANT": "acme",
        "BDG_USER": "alice",
        "COLUMNS": "200",
    }
    store = JobStore.from_url(database_url)
    try:
        yield Bdg(env, store, work)
    finally:
        store.close()


async def test_a_relative_repo_is_the_callers_and_both_commands_agree(bdg: Bdg) -> None:
    created = await bdg("job", "create", "add a greeting", "--repo", "./my-app")
    job_id = UUID(created.stdout.strip())
    job = Job.replay(bdg.store.history(job_id))
    top = str((bdg.work / "my-app").resolve())
    assert job.repo == top

    added = await bdg("index", "add", "my-app", "--no-wait")
    assert f"registered: {top} at HEAD" in added.stdout
    assert str(ix.repo_id("acme", top)) in added.stdout


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ("./nowhere", "no such directory"),
        ("./my-app/src", "is not the top of a git work tree"),
        ("../elsewhere/app", "is outside the roots granted to this tenant"),
        ("file:///etc", "file:// URLs are refused"),
        ("--upload-pack=touch x", "cannot start with '-'"),
    ],
)
async def test_the_same_clear_error_from_both_and_nothing_written(
    bdg: Bdg, given: str, words: str
) -> None:
    before = bdg.store.max_notification_id()
    job = await bdg("job", "create", "g", f"--repo={given}", code=2)
    index = await bdg("index", "add", "--no-wait", "--", given, code=2)
    assert words in job.output, job.output
    assert job.output.strip() == index.output.strip()
    assert job.output.startswith("error: repo: "), job.output
    assert bdg.store.max_notification_id() == before
