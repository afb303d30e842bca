"""A connection that fails, under each policy of the deployer's one retry loop (http_retry.py):
the providers' APIs try again with backoff and then say the API is unreachable; git hosts and
registries fail at once (the step's redelivery tries again). A real port nothing listens on."""

from __future__ import annotations

import socket
from dataclasses import replace

import httpx
import pytest

from bdg_deployer.providers.base import ProviderError
from bdg_deployer.providers.http import ProviderApi
from bdg_deployer.providers.http_retry import GIT_HOSTS, send_retrying
from tests.integration.providers.conftest import FAST, Sleeps

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(name="closed_url")
def closed_url_fixture() -> str:
    with socket.socket() as listener:  # a port the system gave, then closed: refused
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def test_a_provider_api_is_tried_again_then_unreachable(
    closed_url: str, sleeps: Sleeps
) -> None:
    api = ProviderApi("vercel", closed_url, "token-never-shown", str, FAST, sleeps)
    with pytest.raises(ProviderError) as raised:
        await api.call("GET", "/v2/user")
    assert (raised.value.status, raised.value.message) == (None, "unreachable: ConnectError")
    assert sleeps.asked == [0.01, 0.02]  # three sends
    assert "token-never-shown" not in str(raised.value)


async def test_a_git_host_or_registry_fails_at_once(closed_url: str, sleeps: Sleeps) -> None:
    sends = 0

    async def send() -> httpx.Response:
        nonlocal sends
        sends += 1
        async with httpx.AsyncClient() as client:
            return await client.get(f"{closed_url}/v2/")

    with pytest.raises(httpx.ConnectError):
        await send_retrying(send, GIT_HOSTS, sleeps)
    assert (sends, sleeps.asked) == (1, [])
    sends = 0
    with pytest.raises(httpx.ConnectError):  # the same loop, with the providers' choice
        await send_retrying(send, replace(GIT_HOSTS, transport_errors=True, first_s=0.01), sleeps)
    assert (sends, sleeps.asked) == (5, [0.01, 0.02, 0.04, 0.08])
