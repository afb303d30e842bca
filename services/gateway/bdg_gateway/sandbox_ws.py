"""``/agent/sandbox/workspaces/{workspace}/exec`` as a WebSocket: one exec per connection.

Refusals are an ``error`` message, then the close with code 4000 + the HTTP status (4400 for an
invalid request, as the job stream does). A client that leaves cancels the run in sandboxd.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging

from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from bdg_contracts import sandbox as sb
from bdg_gateway.auth import AuthError, bearer_token
from bdg_gateway.deps import gateway_of
from bdg_gateway.sandbox_deps import call, check_workspace, client_of, exec_timeout, run
from bdg_gateway.sandbox_views import ErrorMessage, ExecBody, Exit, ExitMessage, OutputMessage
from bdg_sandbox.client import SandboxClient

log = logging.getLogger(__name__)
router = APIRouter(prefix="/agent/sandbox", tags=["sandbox"])

REQUEST_TIMEOUT = 30.0  # for a WebSocket client to send its exec request
STREAMS = ("stdout", "stderr")


class ClientGoneError(Exception):
    """The WebSocket client left; its run is cancelled."""


@router.websocket("/workspaces/{workspace}/exec")
async def exec_stream(websocket: WebSocket, workspace: str) -> None:
    """One exec per connection: the client sends its request as JSON, output streams back as it
    comes, then one ``exit`` message and the close. A client that leaves cancels the run."""
    # Accept first: a close before the handshake is an HTTP 403 with no code the client sees.
    await websocket.accept()
    try:
        tenant = _tenant(websocket)
        check_workspace(workspace)
        client = client_of(websocket.app)
        frame = (await _request(websocket)).frame(tenant, workspace)
        await ExecStream(websocket, client, frame).run()
    except HTTPException as error:
        await _refuse(websocket, error.status_code, str(error.detail))
    except ClientGoneError:
        pass


def _tenant(websocket: WebSocket) -> str:
    query, headers = websocket.query_params, websocket.headers
    token = query.get("token") or bearer_token(headers.get("authorization"))
    try:
        return gateway_of(websocket.app).auth.authenticate(token).tenant_id
    except AuthError as error:
        raise HTTPException(401, error.detail) from None


async def _request(websocket: WebSocket) -> ExecBody:
    try:
        message = await asyncio.wait_for(websocket.receive(), REQUEST_TIMEOUT)
    except TimeoutError:
        raise HTTPException(422, f"no exec request within {REQUEST_TIMEOUT}s") from None
    if message["type"] == "websocket.disconnect":
        raise ClientGoneError
    try:
        return ExecBody.model_validate_json(message.get("text") or message.get("bytes") or "")
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg']}"
            for e in error.errors(include_input=False)
        )
        raise HTTPException(422, problems) from None


async def _refuse(websocket: WebSocket, status: int, detail: str) -> None:
    """An ``error`` message with the whole detail, then the close (4000 + status)."""
    code = 4400 if status == 422 else 4000 + status
    with contextlib.suppress(Exception):
        await websocket.send_text(ErrorMessage(status=status, detail=detail).model_dump_json())
        await websocket.close(code=code, reason=detail.encode()[:120].decode(errors="ignore"))


class ExecStream:
    """Output to the socket as it comes; the first of (exit, client gone) ends the stream."""

    def __init__(self, websocket: WebSocket, client: SandboxClient, frame: sb.Exec) -> None:
        self.ws, self.client, self.frame = websocket, client, frame
        self.decoders = {s: codecs.getincrementaldecoder("utf-8")("replace") for s in STREAMS}

    async def run(self) -> None:
        work = run(self.client, self.frame, self._send)
        running = asyncio.create_task(call(self.client, work, exec_timeout(self.frame)))
        watching = asyncio.create_task(self._watch())
        try:
            await asyncio.wait({running, watching}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watching.cancel()
            if not running.done():
                log.info("exec %s: the client left, cancelling the run", self.frame.id)
                running.cancel()
            await asyncio.gather(running, watching, return_exceptions=True)
        if running.cancelled():
            raise ClientGoneError
        exited = running.result()  # ClientGoneError or HTTPException: to the caller
        for stream in STREAMS:
            await self._send(stream, b"", final=True)
        await self.ws.send_text(ExitMessage(**Exit.of(exited).model_dump()).model_dump_json())
        await self.ws.close(1000)

    async def _watch(self) -> None:
        # The client has nothing more to say: what it sends is read and ignored until it leaves.
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            while (await self.ws.receive())["type"] != "websocket.disconnect":
                pass

    async def _send(self, stream: str, data: bytes, final: bool = False) -> None:
        text = self.decoders[stream].decode(data, final=final)
        if not text:
            return
        message = OutputMessage(type="stdout" if stream == "stdout" else "stderr", data=text)
        try:
            await self.ws.send_text(message.model_dump_json())
        except Exception as error:
            raise ClientGoneError from error
