"""A real sandboxd for gateway tests that need one (import the ``*_fixture`` functions)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bdg_sandbox.client import SandboxClient
from tests.sandbox.daemon import Daemon, start_daemon


@pytest.fixture(name="daemon")
async def daemon_fixture() -> AsyncIterator[Daemon]:
    daemon = await start_daemon()
    yield daemon
    daemon.stop()
    daemon.remove()


@pytest.fixture(name="sandbox")
async def sandbox_fixture(daemon: Daemon) -> AsyncIterator[SandboxClient]:
    client = daemon.client()
    yield client
    await client.close()
