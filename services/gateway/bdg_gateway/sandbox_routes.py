"""``/agent/sandbox``: sandboxd's workspaces, files and execs over HTTP, per tenant.

The tenant is always the caller's ``tenant`` claim. The wire models are in ``sandbox_views``,
the calls to sandboxd in ``sandbox_deps``, the exec WebSocket in ``sandbox_ws``.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import Response

from bdg_contracts import sandbox as sb
from bdg_gateway import sandbox_ws
from bdg_gateway.deps import CurrentCaller
from bdg_gateway.sandbox_deps import (
    WORKSPACE_TIMEOUT,
    FilePath,
    ListedPath,
    Workspace,
    alone,
    answers,
    call,
    client_of,
    exec_timeout,
    read_body,
    run,
)
from bdg_gateway.sandbox_views import (
    CreateWorkspaceBody,
    ExecBody,
    ExecOutcome,
    Exit,
    SandboxInfo,
    WorkspaceCreated,
)
from bdg_gateway.strict_json import StrictJsonRoute
from bdg_sandbox.client import SandboxClient

router = APIRouter(prefix="/agent/sandbox", tags=["sandbox"], route_class=StrictJsonRoute)

HELLO_TIMEOUT = 5.0  # seconds for sandboxd to say who it is
KEEP_OUTPUT = 4 << 20  # bytes of each stream a REST exec answers with
MAX_FILE_BYTES = sb.MAX_FRAME_BYTES - (32 << 10)  # room for the path and the frame's fields
OCTETS = "application/octet-stream"
BINARY = {"type": "string", "format": "binary"}


def install(app: FastAPI, sandbox: SandboxClient | None) -> None:
    app.state.sandbox = sandbox
    app.include_router(router)
    app.include_router(sandbox_ws.router)


@router.get("", responses=answers())
async def sandbox_info(request: Request, caller: CurrentCaller) -> SandboxInfo:
    """Which backend runs the execs and which protections hold."""
    client = client_of(request.app)
    welcome = await call(client, client.hello(), HELLO_TIMEOUT)
    return SandboxInfo(**welcome.model_dump(include=set(SandboxInfo.model_fields)))


@router.post("/workspaces/{workspace}", status_code=201, responses=answers(409, 413))
async def create_workspace(
    request: Request, caller: CurrentCaller, workspace: Workspace, body: CreateWorkspaceBody
) -> WorkspaceCreated:
    """A new workspace of the tenant: empty, or a clone of ``repo`` at ``commit`` with
    ``patches`` applied. The same request again answers as the first; a workspace of that
    name built from another source is a 409."""
    client, tenant = client_of(request.app), caller.tenant_id
    body.fit(tenant, workspace)
    work = client.create_workspace(tenant, workspace, body.repo, body.commit, body.patches)
    return WorkspaceCreated(commit=await call(client, work, WORKSPACE_TIMEOUT))


@router.delete("/workspaces/{workspace}", status_code=204, responses=answers())
async def drop_workspace(request: Request, caller: CurrentCaller, workspace: Workspace) -> None:
    client = client_of(request.app)
    await call(client, client.drop_workspace(caller.tenant_id, workspace), WORKSPACE_TIMEOUT)


@router.get("/workspaces/{workspace}/files", responses=answers(413))
async def list_files(
    request: Request,
    caller: CurrentCaller,
    workspace: Workspace,
    path: ListedPath,
) -> list[sb.FileEntry]:
    """Everything under ``path``, recursively."""
    async with alone(client_of(request.app)) as own:
        work = own.list_files(caller.tenant_id, workspace, path)
        return await call(own, work, WORKSPACE_TIMEOUT)


@router.get(
    "/workspaces/{workspace}/files/{path:path}",
    response_class=Response,
    responses={200: {"content": {OCTETS: {"schema": BINARY}}}, **answers(413)},
)
async def read_file(
    request: Request, caller: CurrentCaller, workspace: Workspace, path: FilePath
) -> Response:
    """The file's bytes (at most ~1 MiB: one protocol frame)."""
    tenant = caller.tenant_id
    async with alone(client_of(request.app)) as own:
        found = await call(own, own.list_files(tenant, workspace, path), WORKSPACE_TIMEOUT)
        if len(found) == 1 and found[0].size > MAX_FILE_BYTES:
            raise HTTPException(413, f"{path} has {found[0].size} bytes, over {MAX_FILE_BYTES}")
        content = await call(own, own.read_file(tenant, workspace, path), WORKSPACE_TIMEOUT)
    return Response(content, media_type=OCTETS)


@router.put(
    "/workspaces/{workspace}/files/{path:path}",
    status_code=204,
    responses=answers(413),
    openapi_extra={"requestBody": {"required": True, "content": {OCTETS: {"schema": BINARY}}}},
)
async def write_file(
    request: Request, caller: CurrentCaller, workspace: Workspace, path: FilePath
) -> None:
    """The raw request body becomes the file (at most ~1 MiB: one protocol frame). An empty
    file is an empty body with a Content-Type; no bytes and no type is a missing body."""
    client = client_of(request.app)
    content = await read_body(request, MAX_FILE_BYTES)
    if not content and "content-type" not in request.headers:
        raise HTTPException(422, f"body: required (the file's bytes, as {OCTETS})")
    await call(
        client, client.write_file(caller.tenant_id, workspace, path, content), WORKSPACE_TIMEOUT
    )


@router.delete("/workspaces/{workspace}/files/{path:path}", status_code=204, responses=answers())
async def delete_file(
    request: Request, caller: CurrentCaller, workspace: Workspace, path: FilePath
) -> None:
    client = client_of(request.app)
    await call(client, client.delete_file(caller.tenant_id, workspace, path), WORKSPACE_TIMEOUT)


@router.post("/workspaces/{workspace}/exec", responses=answers(413))
async def exec_command(
    request: Request, caller: CurrentCaller, workspace: Workspace, body: ExecBody
) -> ExecOutcome:
    """Run a command to its end; its output comes back as text (UTF-8, bad bytes replaced)."""
    client = client_of(request.app)
    frame = body.frame(caller.tenant_id, workspace)
    kept = {"stdout": bytearray(), "stderr": bytearray()}
    dropped = False

    def keep(stream: str, data: bytes) -> None:
        nonlocal dropped
        room = max(KEEP_OUTPUT - len(kept[stream]), 0)
        kept[stream] += data[:room]
        dropped = dropped or len(data) > room

    exited = await call(client, run(client, frame, keep), exec_timeout(frame))
    return ExecOutcome(
        **Exit.of(exited, dropped).model_dump(),
        stdout=kept["stdout"].decode(errors="replace"),
        stderr=kept["stderr"].decode(errors="replace"),
    )
