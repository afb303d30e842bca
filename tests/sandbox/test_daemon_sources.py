"""sandboxd as a process: which host repositories a workspace may start from (issue 11).

Defence in depth behind the gateway's check: even with BDG_HOME listed as a source root, the
database, the bus and the index never become a workspace; a folder below a work tree's top
neither. Whoever asks (a job recorded before the rules, the gateway's sandbox proxy, a service),
a workspace starts only from a repository granted to the workspace's own tenant, by the grants
file the gateway reads (BDG_HOME/source-grants.json). The check happens before any exec, so one
backend is enough.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bdg_contracts.sources import default_grants_file, write_grants
from bdg_sandbox.client import SandboxRequestError
from tests.sandbox.daemon import Daemon, start_daemon

pytestmark = pytest.mark.timeout(120)
TENANT = "acme"
OTHER = "globex"


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
    git_repo(tmp_path / "work" / TENANT / "app")
    (tmp_path / "work" / TENANT / "app" / "src").mkdir()
    git_repo(tmp_path / "work" / OTHER / "app")
    grants = {TENANT: [home, tmp_path / "work" / TENANT], OTHER: [tmp_path / "work" / OTHER]}
    write_grants(default_grants_file(home), grants)  # where `bdg up` writes them
    roots = json.dumps([str(home), str(tmp_path / "work")])
    daemon = await start_daemon(
        SANDBOX_BACKEND="bwrap",
        SANDBOX_SOURCE_ROOTS=roots,
        BDG_HOME=str(home),
        BDG_SOURCE_GRANTS=str(default_grants_file(home)),
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
        ("work/acme/app/src", "not the top of a git work tree"),
        ("work/acme", "not the top of a git work tree"),
        ("work/globex/app", "outside the roots granted to tenant 'acme'"),
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
        for n, source in enumerate(["work/acme/app", "home/demo-repos/example"]):
            assert await client.create_workspace(TENANT, f"ws{n}", str(tmp_path / source))
            read = await client.read_file(TENANT, f"ws{n}", "secret.txt")
            assert read == b"webhook secret\n"


async def test_another_tenants_granted_repository_is_refused_and_its_own_works(
    daemon: Daemon, tmp_path: Path
) -> None:
    """Tenant B cannot start a workspace from tenant A's repository, however it is spelled; B's
    own repository works; a grant written while sandboxd runs counts at once."""
    theirs = tmp_path / "work" / TENANT / "app"
    async with daemon.client() as client:
        for spelled in [str(theirs), f"file://{theirs}", f"{theirs}/../app"]:
            with pytest.raises(SandboxRequestError, match="outside the roots granted to tenant"):
                await client.create_workspace(OTHER, "ws-stolen", spelled)
        assert not (daemon.state / "workspaces" / OTHER / "ws-stolen").exists()
        own = tmp_path / "work" / OTHER / "app"
        assert await client.create_workspace(OTHER, "ws-own", str(own))
        assert await client.read_file(OTHER, "ws-own", "secret.txt") == b"webhook secret\n"
        # The grants file changes (a grant added, one withdrawn): sandboxd reads it again.
        home = tmp_path / "home"
        write_grants(default_grants_file(home), {OTHER: [tmp_path / "work"]})
        assert await client.create_workspace(OTHER, "ws-granted-now", str(theirs))
        with pytest.raises(SandboxRequestError, match="outside the roots granted to tenant"):
            await client.create_workspace(TENANT, "ws-withdrawn", str(theirs))


async def test_without_a_grants_file_no_tenant_has_local_sources(tmp_path: Path) -> None:
    """sandboxd's source roots are a bound for the host, not a grant to every tenant."""
    repo = git_repo(tmp_path / "work" / "app")
    daemon = await start_daemon(
        SANDBOX_BACKEND="bwrap",
        SANDBOX_SOURCE_ROOTS=json.dumps([str(tmp_path / "work")]),
        BDG_HOME=str(tmp_path / "home"),
    )
    try:
        async with daemon.client() as client:
            with pytest.raises(SandboxRequestError, match="outside the roots granted to tenant"):
                await client.create_workspace(TENANT, "ws-ungranted", str(repo))
            await client.create_workspace(TENANT, "ws-empty")  # no source: fine
            assert (daemon.state / "workspaces" / TENANT / "ws-empty").is_dir()
    finally:
        assert daemon.stop() == 0, daemon.output()
        daemon.remove()
