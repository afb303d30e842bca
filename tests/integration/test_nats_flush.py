"""A flush whose caller is cancelled must not leave the NATS client deaf (nats_flush.py): with
nats-py's own flush, the next PONG kills the client's read loop and messages stop arriving."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import nats
import pytest
from nats.aio.client import Client

from bdg_runtime import nats_flush
from bdg_runtime.nats_flush import flush
from tests.conftest import Servers


async def still_hears(nc: Client) -> bool:
    heard: asyncio.Queue[bytes] = asyncio.Queue()

    async def got(msg: nats.aio.msg.Msg) -> None:
        heard.put_nowait(msg.data)

    await nc.subscribe("bdg.flushtest", cb=got)
    other = await nats.connect(nc.connected_url.geturl() if nc.connected_url else "")
    try:
        await other.publish("bdg.flushtest", b"hello")
        await other.flush()
        try:
            return await asyncio.wait_for(heard.get(), 3) == b"hello"
        except TimeoutError:
            return False
    finally:
        await other.close()


async def cancelled_midway(flushing: Callable[[Client], Awaitable[None]], nc: Client) -> None:
    task = asyncio.create_task(flushing(nc))
    await asyncio.sleep(0)  # the PING is sent; its PONG cannot arrive before the cancel below
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_cancelled_flush_leaves_the_client_listening(servers: Servers) -> None:
    nc = await nats.connect(servers.nats_url)
    try:
        await cancelled_midway(flush, nc)
        assert await still_hears(nc)
        await flush(nc)  # and flushes still answer
    finally:
        await nc.close()


async def test_nats_py_own_flush_goes_deaf_the_same_way(servers: Servers) -> None:
    """Why the module exists: if this starts passing with a newer nats-py, drop the module."""
    nc = await nats.connect(servers.nats_url)
    try:
        await cancelled_midway(lambda c: c.flush(), nc)
        assert not await still_hears(nc)
    finally:
        await nc.close()


async def test_a_cancel_that_comes_with_the_pong_is_not_lost(servers: Servers) -> None:
    """The PONG and the cancel in one turn of the loop: the caller must still stop (with
    ``wait_for`` on 3.11 it returned as if not cancelled, and a stream task ran on)."""
    nc = await nats.connect(servers.nats_url)
    try:
        earlier = set(nats_flush._running)  # other tests' PINGs may still await their PONG
        caller = asyncio.create_task(flush(nc))
        await asyncio.sleep(0)  # the caller is waiting; its PING is out
        (pinging,) = nats_flush._running - earlier
        # Runs right after the caller's own wake-up callback: both land in the same turn.
        pinging.add_done_callback(lambda _: caller.cancel())
        with pytest.raises(asyncio.CancelledError):
            await caller
        assert await still_hears(nc)
    finally:
        await nc.close()
