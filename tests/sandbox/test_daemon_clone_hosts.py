"""sandboxd as a process: clone URLs to internal hosts (SSRF, issue 11 finding 1).

A workspace's clone URL is the tenant's input, and sandboxd's git runs on the host, inside our
network. Its host is resolved and judged right before git runs; an internal address is refused,
in any spelling, unless the operator allows it (BDG_CLONE_ALLOW_HOSTS); git follows no redirect.
The git server here is real (HTTP, on loopback) and counts what reaches it: nothing must.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bdg_contracts.clone_dns import addresses_of
from bdg_contracts.clone_hosts import is_public
from bdg_sandbox.client import SandboxRequestError
from tests.git_http import GitServer, bare_copy, serving
from tests.git_repos import make_repo
from tests.sandbox.daemon import Daemon, start_daemon

pytestmark = pytest.mark.timeout(120)
TENANT = "acme"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[GitServer]:
    make_repo(tmp_path / "src", {"hello.txt": "served over http\n"})
    (tmp_path / "www").mkdir()
    bare_copy(tmp_path / "src", tmp_path / "www")
    with serving(tmp_path / "www") as running:
        yield running


async def daemon_with(**env: str) -> AsyncIterator[Daemon]:
    daemon = await start_daemon(SANDBOX_BACKEND="bwrap", **env)
    yield daemon
    code = daemon.stop()
    print(daemon.output())
    daemon.remove()
    assert code == 0


@pytest.fixture
async def daemon() -> AsyncIterator[Daemon]:
    async for running in daemon_with():
        yield running


@pytest.fixture
async def lan_daemon() -> AsyncIterator[Daemon]:
    """An operator's sandboxd that allows its LAN git server (here on loopback)."""
    async for running in daemon_with(BDG_CLONE_ALLOW_HOSTS="127.0.0.0/8"):
        yield running


def internal_urls(port: int) -> list[str]:
    """The server's address in every spelling, then other internal hosts."""
    name = socket.gethostname()  # resolves to this machine: only a lookup shows it
    assert not is_public(addresses_of(name)[0])
    return [
        f"http://127.0.0.1:{port}/repo.git",
        f"http://2130706433:{port}/repo.git",
        f"http://0177.0.0.1:{port}/repo.git",
        f"http://127.1:{port}/repo.git",
        f"http://[::ffff:127.0.0.1]:{port}/repo.git",
        f"http://localhost:{port}/repo.git",
        f"http://{name}:{port}/repo.git",
        "http://127.0.0.1:5432/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/repo.git",
        "http://10.0.0.5/repo.git",
        "git://127.0.0.1/repo.git",
        "ssh://git@10.0.0.5/repo.git",
    ]


async def test_internal_hosts_are_refused_before_git_connects(
    daemon: Daemon, server: GitServer
) -> None:
    async with daemon.client() as client:
        for n, url in enumerate(internal_urls(server.port)):
            with pytest.raises(SandboxRequestError, match=r"internal address|this machine"):
                await client.create_workspace(TENANT, f"ws{n}", url)
            assert not (daemon.state / "workspaces" / TENANT / f"ws{n}").exists()
    assert server.hits == []


async def test_an_allowed_lan_server_is_cloned_from_by_address_or_name(
    lan_daemon: Daemon, server: GitServer
) -> None:
    """A name is pinned to the addresses judged (http.curloptResolve) and still clones."""
    hosts = ["127.0.0.1", "localhost", socket.gethostname()]
    async with lan_daemon.client() as client:
        for n, host in enumerate(hosts):
            assert await client.create_workspace(TENANT, f"lan{n}", server.url(host=host))
            read = await client.read_file(TENANT, f"lan{n}", "hello.txt")
            assert read == b"served over http\n"
        with pytest.raises(SandboxRequestError, match="internal address"):
            await client.create_workspace(TENANT, "meta", "http://169.254.169.254/r.git")
    assert server.hits


async def test_redirects_are_not_followed(lan_daemon: Daemon, server: GitServer) -> None:
    """An allowed host that redirects elsewhere (here to the allowed server itself, so only
    the redirect rule can refuse it) gets nothing cloned: each hop would need judging."""
    with serving(None, host="127.0.0.2", redirect=server.url("").rstrip("/")) as hop:
        async with lan_daemon.client() as client:
            with pytest.raises(SandboxRequestError, match="cannot fetch"):
                await client.create_workspace(TENANT, "hop", hop.url())
        assert hop.hits  # git asked the first host
    assert server.hits == []  # and never followed it to the second
    assert not (lan_daemon.state / "workspaces" / TENANT / "hop").exists()


async def test_the_grants_file_allows_a_lan_server_to_one_tenant(
    daemon: Daemon, server: GitServer
) -> None:
    daemon.grant_file({"acme": {"roots": [], "clone_hosts": ["127.0.0.1"]}, "globex": []})
    async with daemon.client() as client:
        assert await client.create_workspace(TENANT, "lan", server.url())
        assert server.hits
        seen = len(server.hits)
        with pytest.raises(SandboxRequestError, match="internal address"):
            await client.create_workspace("globex", "lan", server.url())
    assert len(server.hits) == seen  # nothing more reached the server
