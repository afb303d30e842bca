"""``/agent/sandbox`` reaches sandboxd without ``POST /jobs``'s check (issue 11 finding 1):
local paths are refused by the proxy's body rules, clone URLs to internal hosts by sandboxd
itself. The gateway in-process in front of a real sandboxd process with per-tenant grants; real
PostgreSQL and NATS behind the gateway."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from bdg_gateway.app import create_app
from tests.gateway_stack import Keys, Stack, new_tenant
from tests.sandbox.daemon import Daemon, start_daemon

pytestmark = pytest.mark.timeout(90)
BASE = "/agent/sandbox"


def git_repo(path: Path, text: str) -> Path:
    path.mkdir(parents=True)
    (path / "secret.txt").write_text(text)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(path)]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "s"]):
        subprocess.run([*git, *args], check=True, timeout=30)
    return path


@pytest.fixture(name="roots")
def roots_fixture() -> Iterator[Path]:
    # Outside pytest's 0700 tmp root: the sandbox user reads the checked-out workspaces.
    root = Path(tempfile.mkdtemp(prefix="bdg-proxy-sources-")).resolve()
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(name="daemon")
async def daemon_fixture(roots: Path) -> AsyncIterator[Daemon]:
    daemon = await start_daemon(SANDBOX_SOURCE_ROOTS=json.dumps([str(roots)]))
    yield daemon
    code, output = daemon.stop(), daemon.output()
    daemon.remove()
    assert code == 0, output


async def test_the_proxy_gives_no_tenant_another_tenants_repository_or_an_internal_host(
    stack: Stack, keys: Keys, daemon: Daemon, roots: Path
) -> None:
    a, b = new_tenant(), new_tenant()
    theirs = git_repo(roots / "a" / "app", "tenant A's webhook secret\n")
    daemon.grant({a: [roots / "a"], b: [roots / "b"]})
    async with daemon.client() as sandbox:
        app = create_app(stack.commands, stack.queries, stack.nc, keys.authenticator(), sandbox)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            for repo, words in [
                (str(theirs), "body.repo"),  # the proxy takes clone URLs only
                (f"file://{theirs}", "body.repo"),
                ("http://169.254.169.254/r.git", "internal address"),  # sandboxd's own check
                ("http://2130706433:5432/", "internal address"),
                ("http://localhost:4222/", "this machine"),
            ]:
                ws = "ws-" + secrets.token_hex(4)
                answer = await http.post(
                    f"{BASE}/workspaces/{ws}", json={"repo": repo}, headers=keys.headers(b)
                )
                assert answer.status_code in (400, 422), (repo, answer.text)
                assert words in answer.text, (repo, answer.text)
                assert not (daemon.state / "workspaces" / b / ws).exists()
