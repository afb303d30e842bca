"""What the ``/agent/sandbox`` routes share: the names they accept and the calls to sandboxd.

A workspace name is declared in the OpenAPI document as it is checked (a pattern and a length),
so a name valid by the schema is accepted. Every call to sandboxd is bounded in time; protocol
error codes become HTTP statuses; no sandboxd answering is a 503, never a 500 or a hang.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from bdg_contracts import sandbox as sb
from bdg_gateway.openapi_docs import Problem
from bdg_sandbox.client import SandboxClient, SandboxRequestError, SandboxUnavailableError

T = TypeVar("T")
OnOutput = Callable[[str, bytes], Awaitable[None] | None]

WORKSPACE_TIMEOUT = 300.0  # a create may clone a repository
EXEC_GRACE = 60.0  # beyond the exec's own timeout: queueing, container start and teardown
NAME_MAX = 255  # bytes in one file name (Linux)
STATUS = {
    "invalid": 422,
    "not_found": 404,
    "quota": 413,
    "too_large": 413,
    "conflict": 409,
    "unavailable": 503,
}
# sandboxd's own rule (bdg_sandboxd.workspaces.WORKSPACE): the protocol's WorkspaceId, 1 to 128
# of [A-Za-z0-9_.-], but no leading dot, so never "." or ".." nor a hidden directory.
WORKSPACE_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$"
WORKSPACE_MAX = 128
_WORKSPACE = TypeAdapter[str](
    Annotated[str, Field(pattern=WORKSPACE_PATTERN, max_length=WORKSPACE_MAX)]
)
_ANSWERS = {
    409: "the workspace exists, built from another source",
    413: "over sandboxd's frame (1 MiB) or the workspace's quota",
    503: "no sandboxd answers",
}


def answers(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of a sandbox route: what sandboxd's refusals become."""
    return {s: {"model": Problem, "description": _ANSWERS[s]} for s in (503, *statuses)}


def check_workspace(workspace: str) -> str:
    """The declared pattern checked by hand, for the WebSocket (which has no 422 of its own)."""
    try:
        return _WORKSPACE.validate_python(workspace)
    except ValidationError as error:
        raise HTTPException(422, f"workspace: {error.errors()[0]['msg']}") from None


def _names_fit(path: str) -> str:
    """Each name in ``path`` within NAME_MAX: the file system's own limit, said as a 422."""
    for name in path.split("/"):
        if len(name.encode()) > NAME_MAX:
            size = len(name.encode())
            raise HTTPException(422, f"path: a name of {size} bytes, over {NAME_MAX} bytes")
    if "\0" in path:
        raise HTTPException(422, "path: contains a NUL byte")
    return path


def _file_path(path: Annotated[str, Path(min_length=1, max_length=4096)]) -> str:
    return _names_fit(path)


def _listed_path(path: Annotated[str, Query(max_length=4096)] = ".") -> str:
    return _names_fit(path)


Workspace = Annotated[str, Path(pattern=WORKSPACE_PATTERN, max_length=WORKSPACE_MAX)]
FilePath = Annotated[str, Depends(_file_path)]
ListedPath = Annotated[str, Depends(_listed_path)]


def endpoint(client: SandboxClient) -> str:
    return f"unix://{client.path}"


def client_of(app: FastAPI) -> SandboxClient:
    client: SandboxClient | None = app.state.sandbox
    if client is None:
        raise HTTPException(503, "sandbox unavailable: the gateway has no AGENT_SANDBOX_ENDPOINT")
    return client


async def call(client: SandboxClient, work: Awaitable[T], timeout: float) -> T:
    """``work``'s result, or the sandbox's refusal as an HTTPException with its status."""
    unavailable = f"sandbox unavailable at {endpoint(client)}"
    try:
        async with asyncio.timeout(timeout):
            return await work
    except SandboxUnavailableError as error:
        raise HTTPException(503, f"{unavailable}: {error}") from None
    except SandboxRequestError as error:
        status = STATUS.get(error.code, 502)
        detail = f"{unavailable}: {error}" if status == 503 else str(error)
        raise HTTPException(status, detail) from None
    except TimeoutError:
        raise HTTPException(503, f"{unavailable}: no answer within {timeout}s") from None


@contextlib.asynccontextmanager
async def alone(client: SandboxClient) -> AsyncIterator[SandboxClient]:
    """A connection of its own for replies that can outgrow a frame (lists, reads): a reply
    too large to read loses its connection, and with it every exec on that connection."""
    own = SandboxClient(endpoint(client), client.connect_timeout)
    try:
        yield own
    finally:
        await own.close()


async def read_body(request: Request, limit: int) -> bytes:
    too_large = HTTPException(413, f"the file is larger than {limit} bytes")
    if int(request.headers.get("content-length") or 0) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def exec_timeout(frame: sb.Exec) -> float:
    return frame.limits.timeout_s + EXEC_GRACE


async def run(client: SandboxClient, frame: sb.Exec, on_output: OnOutput) -> sb.Exited:
    """Stream one exec to its Exited frame. Cancelling this, or ``on_output`` raising, closes
    the client's stream, which cancels the run in sandboxd."""
    # client.stream is an async generator: closing it sends sandboxd a cancel.
    stream = cast(AsyncGenerator[BaseModel, None], client.stream(frame))
    async with contextlib.aclosing(stream) as replies:
        async for reply in replies:
            if isinstance(reply, sb.Output):
                result = on_output(reply.stream, reply.data)
                if result is not None:
                    await result
            elif isinstance(reply, sb.Exited):
                return reply
    raise SandboxUnavailableError("the exec ended without an exit frame")
