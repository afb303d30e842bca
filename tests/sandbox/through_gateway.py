"""The gateway in front of a sandboxd for tests: in-process (ASGI) or under uvicorn (WebSocket)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from bdg_gateway.main import bind, http_server
from tests.waiting import eventually

RECV_TIMEOUT = 20
BASE = "/agent/sandbox"


@contextlib.asynccontextmanager
async def asgi(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        yield http


@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """``app`` under uvicorn on a free port: ``ws://127.0.0.1:<port>``."""
    sock = bind("127.0.0.1", 0)
    server = http_server(app)
    serving = asyncio.create_task(server.serve(sockets=[sock]))

    async def started() -> bool:
        assert not serving.done(), serving
        return bool(server.started)

    await eventually(started, 10, "uvicorn to start")
    try:
        yield f"ws://127.0.0.1:{sock.getsockname()[1]}{BASE}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 15)


async def receive(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT))
    return message


async def refused(ws: ClientConnection) -> tuple[dict[str, Any], int]:
    message = await receive(ws)
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), RECV_TIMEOUT)
    assert closed.value.rcvd is not None
    return message, closed.value.rcvd.code
