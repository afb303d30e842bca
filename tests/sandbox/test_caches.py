"""Per-tenant package caches (Exec.cache) through a real sandboxd, on both backends: shared by
a tenant's workspaces, invisible to other tenants, absent unless asked for, a dead end for
links, cleared when over the quota and by ``sandboxd cache clear``."""

from __future__ import annotations

import asyncio
import os
import secrets
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import msgpack
import pytest

from bdg_contracts import sandbox as sb
from bdg_sandbox.client import ExecResult, SandboxClient
from bdg_sandbox.codec import encode
from bdg_sandboxd.caches import Caches
from tests.sandbox.daemon import Daemon, start_daemon

pytestmark = pytest.mark.timeout(120)
SANDBOX_UID = 65534


@pytest.fixture(params=["runc", "bwrap"])
async def daemon(request: pytest.FixtureRequest) -> AsyncIterator[Daemon]:
    daemon = await start_daemon(SANDBOX_BACKEND=request.param, SANDBOX_TENANT_QUOTA_MB="1")
    yield daemon
    code = daemon.stop()
    print(daemon.output())
    daemon.remove()
    assert code == 0


@pytest.fixture
async def client(daemon: Daemon) -> AsyncIterator[SandboxClient]:
    async with daemon.client() as client:
        yield client


def new_tenant() -> str:
    return f"t{secrets.token_hex(4)}"


async def sh(client: SandboxClient, tenant: str, script: str, *, cache: bool = True) -> ExecResult:
    """``script`` in a fresh workspace of ``tenant``."""
    workspace = f"ws{secrets.token_hex(4)}"
    await client.create_workspace(tenant, workspace)
    return await client.exec(tenant, workspace, ["sh", "-c", script], cache=cache)


async def sandboxd_cache(daemon: Daemon, *args: str) -> str:
    """``sandboxd cache ...`` on the daemon's state directory; its stdout."""
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bdg_sandboxd.main", "cache", *args),
        env={**os.environ, "SANDBOX_STATE_DIR": str(daemon.state)},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out
    return out.decode()


async def test_a_tenants_cache_is_shared_by_its_workspaces_and_by_nobody_else(
    client: SandboxClient, daemon: Daemon
) -> None:
    acme, other = new_tenant(), new_tenant()
    wrote = await sh(client, acme, "mkdir -p /cache/pip && echo kept > /cache/pip/wheel")
    assert wrote.ok, wrote
    read = await sh(client, acme, "cat /cache/pip/wheel")
    assert (read.ok, read.stdout) == (True, b"kept\n"), read
    theirs = await sh(client, other, "ls -A /cache; echo mine > /cache/mine; cat /cache/pip/wheel")
    assert theirs.stdout == b"", theirs
    assert b"No such file" in theirs.stderr, theirs
    mine = await sh(client, acme, "ls -A /cache")
    assert mine.stdout == b"pip\n", mine
    without = await sh(client, acme, "test -e /cache", cache=False)
    assert without.exited.code == 1, without

    caches = daemon.state / "caches"
    assert (caches.stat().st_uid, stat.S_IMODE(caches.stat().st_mode)) == (0, 0o711)
    own = (caches / acme).stat()
    assert (own.st_uid, own.st_gid, stat.S_IMODE(own.st_mode)) == (
        SANDBOX_UID,
        SANDBOX_UID,
        0o700,
    )


async def test_the_cache_leads_nowhere_else_and_clearing_follows_no_link(
    client: SandboxClient, daemon: Daemon
) -> None:
    tenant = new_tenant()
    outside = daemon.state.parent / "outside"
    outside.mkdir()
    (outside / "secret").write_text("host")
    planted = await sh(
        client,
        tenant,
        f"ln -s {outside} /cache/dir && ln -s {outside}/secret /cache/file && "
        "echo x > /cache/own && cat /cache/file",
    )
    assert planted.exited.code != 0, planted
    assert b"No such file" in planted.stderr, planted
    escape = await sh(client, tenant, "touch /cache/../x || mkdir /cache/../y || echo refused")
    assert escape.stdout.endswith(b"refused\n"), escape

    usage = await sandboxd_cache(daemon, "usage")
    assert f"{tenant}\t0.0 MB" in usage, usage  # the links' targets are not counted
    assert await sandboxd_cache(daemon, "clear", tenant) == f"{tenant}: cleared\n"
    assert (outside / "secret").read_text() == "host"
    assert not (daemon.state / "caches" / tenant).exists()
    again = await sh(client, tenant, "ls -A /cache")
    assert (again.ok, again.stdout) == (True, b""), again


async def test_a_cache_over_its_quota_is_cleared_once_its_exec_ends(
    client: SandboxClient,
) -> None:
    tenant = new_tenant()
    small = await sh(client, tenant, "head -c 100000 /dev/zero > /cache/small")
    assert small.ok, small
    kept = await sh(client, tenant, "ls /cache")
    assert kept.stdout == b"small\n", kept
    big = await sh(client, tenant, "head -c 2000000 /dev/zero > /cache/big && ls /cache")
    assert big.stdout == b"big\nsmall\n", big  # over the 1 MB quota only once it has ended
    after = await sh(client, tenant, "ls -A /cache")
    assert (after.ok, after.stdout) == (True, b""), after


def test_an_exec_without_the_cache_is_sent_as_older_daemons_know_it() -> None:
    plain = sb.Exec(id="1", argv=["true"], workspace="w", tenant="t")
    assert "cache" not in msgpack.unpackb(encode(plain)[4:])
    cached = plain.model_copy(update={"cache": True})
    assert msgpack.unpackb(encode(cached)[4:])["cache"] is True
    assert sb.REQUEST.validate_python(msgpack.unpackb(encode(cached)[4:])) == cached


def test_clearing_a_cache_that_is_not_there_and_bad_tenant_ids(tmp_path: Path) -> None:
    caches = Caches(tmp_path / "caches", 1)
    assert (caches.clear("acme"), caches.usage("acme"), caches.tenants()) == (False, 0, [])
    caches.path("acme")
    assert caches.tenants() == ["acme"]
    for bad in ("../x", ".trash-x", ""):
        with pytest.raises(Exception, match="bad tenant id"):
            caches.path(bad)
