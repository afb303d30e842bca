"""The bus adapter against real NATS: clear failure when unreachable, dead letters listing."""

from __future__ import annotations

import socket

import pytest

from bdg_runtime.bus import BusUnreachableError, connect, ensure_streams
from bdg_runtime.dlq import list_dead_letters
from tests.conftest import Servers

pytestmark = pytest.mark.timeout(30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_an_unreachable_server_fails_clearly_instead_of_hanging() -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    with pytest.raises(BusUnreachableError, match=f"cannot reach NATS at {url}"):
        await connect(url, "test", first_attempt_seconds=2)


async def test_an_empty_dead_letter_stream_lists_nothing(servers: Servers, namespace: str) -> None:
    nc = await connect(servers.nats_url, "test")
    js = nc.jetstream()
    assert await list_dead_letters(js) == []  # no stream yet
    await ensure_streams(js, 60)
    assert await list_dead_letters(js) == []  # stream, never used
    await nc.close()
