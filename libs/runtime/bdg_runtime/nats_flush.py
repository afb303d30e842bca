"""``nc.flush()`` that neither a cancelled caller nor a timeout can break.

nats-py queues a future per PING and resolves the oldest at each PONG. A flush whose caller is
cancelled (a WebSocket client gone mid-subscribe) or times out leaves its future cancelled in
that queue; the next PONG then raises ``InvalidStateError`` in the client's read loop, which
dies: every subscription of the process goes silent and every later flush times out (seen in
CI as a gateway stream that never answered). Here the PING/PONG runs in a task of its own,
shielded, that waits as long as the connection lives: the caller may stop waiting, the task
still takes its PONG off the queue.

The wait is ``asyncio.timeout``, not ``wait_for``: on Python 3.11 ``wait_for`` returns the result
when the PONG and a cancel arrive together, swallowing the cancel; the stream task that called
it then ran on until uvicorn gave up waiting for it (10 s at every such shutdown).
"""

from __future__ import annotations

import asyncio

from nats.aio.client import Client

_PONG_WAIT_S = 3600  # the connection's own ping interval notices a dead server long before
_running: set[asyncio.Task[None]] = set()  # strong references until each PONG arrives


def _settled(task: asyncio.Task[None]) -> None:
    _running.discard(task)
    if not task.cancelled():
        task.exception()  # a lost connection: already reported by the client's callbacks


async def flush(nc: Client, timeout: float = 10.0) -> None:
    """Wait until the server has processed everything sent so far (TimeoutError after
    ``timeout``); cancelling the caller is safe."""
    task = asyncio.ensure_future(nc.flush(timeout=_PONG_WAIT_S))
    _running.add(task)
    task.add_done_callback(_settled)
    async with asyncio.timeout(timeout):
        await asyncio.shield(task)
