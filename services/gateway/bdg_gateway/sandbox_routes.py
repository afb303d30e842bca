"""``/agent/sandbox``: sandboxd's workspaces and execs over HTTP and a WebSocket, per tenant.

The tenant is always the caller's ``tenant`` claim. Every call to sandboxd is bounded in time and
every frame is checked to fit the protocol's 1 MiB before it is sent. Protocol error codes become
HTTP statuses (WebSocket close codes 4000 + status, but 4400 for an invalid request, as the job
stream does); no sandboxd answering is a 503, never a 500 or a hang.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging
import re
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Annotated, Literal, TypeVar, cast

from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    HTTPException,
    Path,
    Query,
    Request,
    WebSocket,
    WebSocketDisconnect,
)
from fastapi.responses import Response
from pydantic import BaseModel, Field, TypeAdapter, ValidationError, field_validator

from bdg_contracts import sandbox as sb
from bdg_gateway.auth import AuthError, bearer_token
from bdg_gateway.deps import CurrentCaller, gateway_of
from bdg_sandbox.client import SandboxClient, SandboxRequestError, SandboxUnavailableError
from bdg_sandbox.codec import HEADER, encode

T = TypeVar("T")
log = logging.getLogger(__name__)
router = APIRouter(prefix="/agent/sandbox", tags=["sandbox"])

HELLO_TIMEOUT = 5.0  # seconds for sandboxd to say who it is
WORKSPACE_TIMEOUT = 300.0  # a create may clone a repository
EXEC_GRACE = 60.0  # beyond the exec's own timeout: queueing, container start and teardown
REQUEST_TIMEOUT = 30.0  # for a WebSocket client to send its exec request
KEEP_OUTPUT = 4 << 20  # bytes of each stream a REST exec answers with
MAX_FILE_BYTES = sb.MAX_FRAME_BYTES - (32 << 10)  # room for the path and the frame's fields
NAME_MAX = 255  # bytes in one file name (Linux)
STATUS = {
    "invalid": 422,
    "not_found": 404,
    "quota": 413,
    "too_large": 413,
    "conflict": 409,
    "unavailable": 503,
}
REMOTE_REPO = re.compile(r"^(?:(?:https?|ssh|git)://[^\s]+|[\w.-]+@[\w.-]+:[^\s]+)$")
WORKSPACE_ID = TypeAdapter[str](sb.WorkspaceId)
STREAMS = ("stdout", "stderr")
OCTETS = "application/octet-stream"
BINARY = {"type": "string", "format": "binary"}
OnOutput = Callable[[str, bytes], Awaitable[None] | None]


class ClientGoneError(Exception):
    """The WebSocket client left; its run is cancelled."""


def install(app: FastAPI, sandbox: SandboxClient | None) -> None:
    app.state.sandbox = sandbox
    app.include_router(router)


def _workspace(workspace: str) -> str:
    """The protocol's WorkspaceId, but for ``.`` and ``..``."""
    try:
        WORKSPACE_ID.validate_python(workspace)
    except ValidationError as error:
        raise HTTPException(422, f"workspace: {error.errors()[0]['msg']}") from None
    if workspace in {".", ".."}:
        raise HTTPException(422, f"workspace name {workspace!r} is reserved")
    return workspace


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


Workspace = Annotated[str, Depends(_workspace)]
FilePath = Annotated[str, Depends(_file_path)]
ListedPath = Annotated[str, Depends(_listed_path)]


def _endpoint(client: SandboxClient) -> str:
    return f"unix://{client.path}"


def _client(app: FastAPI) -> SandboxClient:
    client: SandboxClient | None = app.state.sandbox
    if client is None:
        raise HTTPException(503, "sandbox unavailable: the gateway has no AGENT_SANDBOX_ENDPOINT")
    return client


async def _call(client: SandboxClient, work: Awaitable[T], timeout: float) -> T:
    """``work``'s result, or the sandbox's refusal as an HTTPException with its status."""
    unavailable = f"sandbox unavailable at {_endpoint(client)}"
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


def _fits(frame: sb.Request) -> None:
    size = len(encode(frame)) - HEADER.size
    if size > sb.MAX_FRAME_BYTES:
        raise HTTPException(
            413, f"the request is {size} bytes, over sandboxd's {sb.MAX_FRAME_BYTES}"
        )


class SandboxInfo(BaseModel):
    backend: str
    protections: dict[str, bool]
    max_concurrent: int


class CreateWorkspaceBody(BaseModel):
    repo: str = Field(default="", max_length=4096, description="git URL; empty: empty workspace")
    commit: str = Field(default="HEAD", max_length=200, pattern=r"^[^-\s][^\s]*$")
    patches: list[str] = Field(default_factory=list, description="unified diffs, in order")

    @field_validator("repo")
    @classmethod
    def _remote(cls, repo: str) -> str:
        # A path or file:// URL would copy the sandbox host's files into the workspace.
        if repo and not REMOTE_REPO.fullmatch(repo):
            raise ValueError("must be a git URL (https, ssh, git, or user@host:path) or empty")
        return repo


class WorkspaceCreated(BaseModel):
    commit: str | None


class ExecBody(BaseModel):
    argv: list[sb.Arg] = Field(min_length=1, max_length=4096)
    cwd: sb.AbsolutePath = "/workspace"
    env: dict[sb.EnvName, sb.Arg] = Field(default_factory=dict)
    limits: sb.Limits = Field(default_factory=sb.Limits)
    network: Literal["none", "registry"] = "none"
    stdin: str = ""

    def frame(self, tenant: str, workspace: str) -> sb.Exec:
        fields = self.model_dump(exclude={"stdin", "limits"})
        frame = sb.Exec(
            id=f"gw-{uuid.uuid4().hex}",
            tenant=tenant,
            workspace=workspace,
            limits=self.limits,
            stdin=self.stdin.encode(),
            **fields,
        )
        _fits(frame)
        return frame


class Exit(BaseModel):
    code: int | None
    signal: int | None
    duration_s: float
    oom: bool
    timed_out: bool
    cancelled: bool
    output_truncated: bool

    @classmethod
    def of(cls, exited: sb.Exited, truncated: bool = False) -> Exit:
        fields = exited.model_dump(include=set(Exit.model_fields))
        return cls(**{**fields, "output_truncated": exited.output_truncated or truncated})


class ExecOutcome(Exit):
    stdout: str
    stderr: str


class OutputMessage(BaseModel):
    type: Literal["stdout", "stderr"]
    data: str


class ExitMessage(Exit):
    type: Literal["exit"] = "exit"


class ErrorMessage(BaseModel):
    type: Literal["error"] = "error"
    status: int
    detail: str


# -- REST ------------------------------------------------------------------------------------
@router.get("", responses={503: {"description": "no sandboxd answers"}})
async def sandbox_info(request: Request, caller: CurrentCaller) -> SandboxInfo:
    """Which backend runs the execs and which protections hold."""
    client = _client(request.app)
    welcome = await _call(client, client.hello(), HELLO_TIMEOUT)
    return SandboxInfo(**welcome.model_dump(include=set(SandboxInfo.model_fields)))


@router.post("/workspaces/{workspace}", status_code=201)
async def create_workspace(
    request: Request, caller: CurrentCaller, workspace: Workspace, body: CreateWorkspaceBody
) -> WorkspaceCreated:
    client, tenant = _client(request.app), caller.tenant_id
    source = sb.Source(repo=body.repo, commit=body.commit)
    _fits(
        sb.CreateWorkspace(
            id="x" * 64, tenant=tenant, workspace=workspace, source=source, patches=body.patches
        )
    )
    work = client.create_workspace(tenant, workspace, body.repo, body.commit, body.patches)
    return WorkspaceCreated(commit=await _call(client, work, WORKSPACE_TIMEOUT))


@router.delete("/workspaces/{workspace}", status_code=204)
async def drop_workspace(request: Request, caller: CurrentCaller, workspace: Workspace) -> None:
    client = _client(request.app)
    await _call(client, client.drop_workspace(caller.tenant_id, workspace), WORKSPACE_TIMEOUT)


@router.get("/workspaces/{workspace}/files")
async def list_files(
    request: Request,
    caller: CurrentCaller,
    workspace: Workspace,
    path: ListedPath,
) -> list[sb.FileEntry]:
    """Everything under ``path``, recursively."""
    async with _alone(_client(request.app)) as own:
        work = own.list_files(caller.tenant_id, workspace, path)
        return await _call(own, work, WORKSPACE_TIMEOUT)


@router.get(
    "/workspaces/{workspace}/files/{path:path}",
    response_class=Response,
    responses={200: {"content": {OCTETS: {"schema": BINARY}}}},
)
async def read_file(
    request: Request, caller: CurrentCaller, workspace: Workspace, path: FilePath
) -> Response:
    """The file's bytes (at most ~1 MiB: one protocol frame)."""
    tenant = caller.tenant_id
    async with _alone(_client(request.app)) as own:
        found = await _call(own, own.list_files(tenant, workspace, path), WORKSPACE_TIMEOUT)
        if len(found) == 1 and found[0].size > MAX_FILE_BYTES:
            raise HTTPException(413, f"{path} has {found[0].size} bytes, over {MAX_FILE_BYTES}")
        content = await _call(own, own.read_file(tenant, workspace, path), WORKSPACE_TIMEOUT)
    return Response(content, media_type=OCTETS)


@contextlib.asynccontextmanager
async def _alone(client: SandboxClient) -> AsyncIterator[SandboxClient]:
    """A connection of its own for replies that can outgrow a frame (lists, reads): a reply
    too large to read loses its connection, and with it every exec on that connection."""
    own = SandboxClient(_endpoint(client), client.connect_timeout)
    try:
        yield own
    finally:
        await own.close()


@router.put(
    "/workspaces/{workspace}/files/{path:path}",
    status_code=204,
    openapi_extra={"requestBody": {"required": True, "content": {OCTETS: {"schema": BINARY}}}},
)
async def write_file(
    request: Request, caller: CurrentCaller, workspace: Workspace, path: FilePath
) -> None:
    """The raw request body becomes the file (at most ~1 MiB: one protocol frame). An empty
    file is an empty body with a Content-Type; no bytes and no type is a missing body."""
    client = _client(request.app)
    content = await _body(request, MAX_FILE_BYTES)
    if not content and "content-type" not in request.headers:
        raise HTTPException(422, f"body: required (the file's bytes, as {OCTETS})")
    await _call(
        client, client.write_file(caller.tenant_id, workspace, path, content), WORKSPACE_TIMEOUT
    )


@router.delete("/workspaces/{workspace}/files/{path:path}", status_code=204)
async def delete_file(
    request: Request, caller: CurrentCaller, workspace: Workspace, path: FilePath
) -> None:
    client = _client(request.app)
    await _call(client, client.delete_file(caller.tenant_id, workspace, path), WORKSPACE_TIMEOUT)


@router.post("/workspaces/{workspace}/exec")
async def exec_command(
    request: Request, caller: CurrentCaller, workspace: Workspace, body: ExecBody
) -> ExecOutcome:
    """Run a command to its end; its output comes back as text (UTF-8, bad bytes replaced)."""
    client = _client(request.app)
    frame = body.frame(caller.tenant_id, workspace)
    kept = {"stdout": bytearray(), "stderr": bytearray()}
    dropped = False

    def keep(stream: str, data: bytes) -> None:
        nonlocal dropped
        room = max(KEEP_OUTPUT - len(kept[stream]), 0)
        kept[stream] += data[:room]
        dropped = dropped or len(data) > room

    exited = await _call(client, _run(client, frame, keep), _exec_timeout(frame))
    return ExecOutcome(
        **Exit.of(exited, dropped).model_dump(),
        stdout=kept["stdout"].decode(errors="replace"),
        stderr=kept["stderr"].decode(errors="replace"),
    )


async def _body(request: Request, limit: int) -> bytes:
    too_large = HTTPException(413, f"the file is larger than {limit} bytes")
    if int(request.headers.get("content-length") or 0) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def _exec_timeout(frame: sb.Exec) -> float:
    return frame.limits.timeout_s + EXEC_GRACE


async def _run(client: SandboxClient, frame: sb.Exec, on_output: OnOutput) -> sb.Exited:
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


# -- WebSocket -------------------------------------------------------------------------------
@router.websocket("/workspaces/{workspace}/exec")
async def exec_stream(websocket: WebSocket, workspace: str) -> None:
    """One exec per connection: the client sends its request as JSON, output streams back as it
    comes, then one ``exit`` message and the close. A client that leaves cancels the run."""
    # Accept first: a close before the handshake is an HTTP 403 with no code the client sees.
    await websocket.accept()
    try:
        tenant = _ws_tenant(websocket)
        _workspace(workspace)
        client = _client(websocket.app)
        frame = (await _ws_request(websocket)).frame(tenant, workspace)
        await ExecStream(websocket, client, frame).run()
    except HTTPException as error:
        await _refuse(websocket, error.status_code, str(error.detail))
    except ClientGoneError:
        pass


def _ws_tenant(websocket: WebSocket) -> str:
    query, headers = websocket.query_params, websocket.headers
    token = query.get("token") or bearer_token(headers.get("authorization"))
    try:
        return gateway_of(websocket.app).auth.authenticate(token).tenant_id
    except AuthError as error:
        raise HTTPException(401, error.detail) from None


async def _ws_request(websocket: WebSocket) -> ExecBody:
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
        work = _run(self.client, self.frame, self._send)
        running = asyncio.create_task(_call(self.client, work, _exec_timeout(self.frame)))
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
