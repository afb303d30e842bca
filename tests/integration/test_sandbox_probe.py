"""Services report at start whether a sandbox answers; they start either way."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bdg_runtime.sandbox_probe import probe_sandbox
from tests.sandbox.daemon import Daemon, start_daemon

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def daemon() -> AsyncIterator[Daemon]:
    daemon = await start_daemon()
    yield daemon
    daemon.stop()
    daemon.remove()


async def test_a_running_sandboxd_is_reported_with_its_backend(daemon: Daemon) -> None:
    status = await probe_sandbox(daemon.endpoint)
    assert status.available
    assert "sandboxd with" in status.detail
    assert "no_network" in status.detail


async def test_no_sandboxd_is_reported_clearly(tmp_path: object) -> None:
    status = await probe_sandbox(f"unix://{tmp_path}/nobody-home.sock")
    assert not status.available
    assert "no sandboxd at" in status.detail


async def test_a_bad_endpoint_is_reported_not_raised() -> None:
    status = await probe_sandbox("tcp://127.0.0.1:1")
    assert not status.available
    assert "unix:///path" in status.detail
