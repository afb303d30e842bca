"""sandboxd as a process: which host repositories a workspace may start from (issue 11).

Defence in depth behind the gateway's check: even with BDG_HOME listed as a source root, the
database, the bus and the index never become a workspace; a folder below a work tree's top
neither. The check happens before any exec, so one backend is enough.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bdg_sandbox.client import SandboxRequestError
from tests.sandbox.daemon import Daemon, start_daemon

pytestmark = pytest.mark.timeout(120)
TENANT = "acme"


def git_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True, timeout=30)
    (path / "secret.txt").write_text("webhook secret\n")
    subprocess.run(["git", "add", "-A"], cwd=path, check=True, timeout=30)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-q", "-m", "s"],
        cwd=path, check=True, timeout=30,
    )  # fmt: skip
    return path


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    home = tmp_path / "home"
    for name in ("pg", "nats", "index/acme/0001", "demo-repos/example"):
        git_repo(home / name)
    git_repo(tmp_path / "work" / "app")
    (tmp_path / "work" / "app" / "src").mkdir()
    roots = json.dumps([str(home), str(tmp_path / "work")])
    daemon = await start_daemon(
        SANDBOX_BACKEND="bwrap", SANDBOX_SOURCE_ROOTS=roots, BDG_HOME=str(home)
    )
    yield daemon
    code = daemon.stop()
    print(daemon.output())
    daemon.remove()
    assert code == 0


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("home/pg", "in a state dir"),
        ("home/nats", "in a state dir"),
        ("home/index/acme/0001", "in a state dir"),
        ("home", "in a state dir"),
        ("work/app/src", "not the top of a git work tree"),
        ("work", "not the top of a git work tree"),
    ],
)
async def test_the_state_dir_and_folders_below_a_top_are_refused(
    daemon: Daemon, tmp_path: Path, source: str, words: str
) -> None:
    async with daemon.client() as client:
        for spelled in [str(tmp_path / source), f"file://{tmp_path / source}"]:
            with pytest.raises(SandboxRequestError, match=words):
                await client.create_workspace(TENANT, "ws-refused", spelled)
        assert not (daemon.state / "workspaces" / TENANT / "ws-refused").exists()


async def test_granted_repositories_and_the_demo_repos_are_sources(
    daemon: Daemon, tmp_path: Path
) -> None:
    async with daemon.client() as client:
        for n, source in enumerate(["work/app", "home/demo-repos/example"]):
            assert await client.create_workspace(TENANT, f"ws{n}", str(tmp_path / source))
            read = await client.read_file(TENANT, f"ws{n}", "secret.txt")
            assert read == b"webhook secret\n"
