"""The sandbox protocol's frames (sandboxd/PROTOCOL.md): what services and sandboxd exchange.

Each frame is a msgpack map with ``t`` (its kind) and ``v`` (protocol version); pydantic picks
the class from ``t``, and both sides dispatch on classes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    SerializerFunctionWrapHandler,
    TypeAdapter,
    model_serializer,
)

from bdg_contracts.base import Contract

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 1 << 20  # 1 MiB: larger frames are refused with an error frame
RequestId = Annotated[str, Field(min_length=1, max_length=64)]
WorkspaceId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,128}$")]
TenantId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
RelPath = Annotated[str, Field(min_length=1, max_length=4096)]
# What execve and the runtimes refuse, refused here with the field's name instead.
Arg = Annotated[str, Field(pattern=r"^[^\x00]*$")]
EnvName = Annotated[str, Field(pattern=r"^[^=\x00]+$", max_length=4096)]
NAME_MAX = 255  # bytes in one path name: beyond, the kernel answers ENAMETOOLONG
PATH_MAX = 4096  # bytes in a whole path, its terminating NUL included


def _names_fit(path: str) -> str:
    # The pattern bounds characters; multi-byte characters can still pass the limits in bytes.
    for name in path.split("/"):
        if len(name.encode(errors="surrogatepass")) > NAME_MAX:
            raise ValueError(f"a name of over {NAME_MAX} bytes")
    if len(path.encode(errors="surrogatepass")) >= PATH_MAX:
        raise ValueError(f"over {PATH_MAX - 1} bytes")
    return path


# Names of 1-255 characters between single slashes: the schema says what the kernel refuses.
# At most 4095 characters: PATH_MAX (4096) counts the terminating NUL (a 4096-character cwd
# was runc's ENAMETOOLONG, a 502, found by schemathesis).
AbsolutePath = Annotated[
    str,
    Field(pattern=r"^/(?:[^\x00/]{1,255}(?:/[^\x00/]{1,255})*/?)?$", max_length=PATH_MAX - 1),
    AfterValidator(_names_fit),
]


class Frame(Contract):
    v: int = PROTOCOL_VERSION


# -- requests (client -> sandboxd) ---------------------------------------------------------------
class Limits(Contract):
    memory_mb: int = Field(default=1024, ge=16, le=65536)
    pids: int = Field(default=256, ge=8, le=32768)
    cpus: float = Field(default=1.0, gt=0, le=64)
    timeout_s: float = Field(default=300.0, gt=0, le=86400)
    tmp_mb: int = Field(default=256, ge=1, le=65536)
    output_bytes: int = Field(default=8 << 20, ge=1024, le=1 << 30)


class Exec(Frame):
    """Run ``argv`` in the workspace; answered by Started, Output frames and one Exited."""

    t: Literal["exec"] = "exec"
    id: RequestId
    argv: list[Arg] = Field(min_length=1, max_length=4096)
    workspace: WorkspaceId
    tenant: TenantId
    cwd: AbsolutePath = "/workspace"
    env: dict[EnvName, Arg] = Field(default_factory=dict)
    limits: Limits = Field(default_factory=Limits)
    network: Literal["none", "registry"] = "none"
    stdin: bytes = b""
    # The tenant's persistent package cache, read-write at /cache (PROTOCOL.md, "Caches").
    cache: bool = False

    @model_serializer(mode="wrap")
    def _leave_out_no_cache(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Daemons older than the field refuse unknown keys: an exec without the cache is sent
        # as they know it; one with it fails there loudly instead of running without /cache.
        data: dict[str, Any] = handler(self)
        if not self.cache:
            data.pop("cache", None)
        return data


class Cancel(Frame):
    """Kill a running exec (or drop a queued one); its Exited frame follows."""

    t: Literal["cancel"] = "cancel"
    id: RequestId


class Source(Contract):
    """Where a workspace starts: a directory or a git repository (path or URL) at a commit."""

    repo: str = Field(default="", max_length=4096)
    commit: str = Field(default="HEAD", max_length=200)


class CreateWorkspace(Frame):
    t: Literal["ws.create"] = "ws.create"
    id: RequestId
    workspace: WorkspaceId
    tenant: TenantId
    source: Source = Field(default_factory=Source)
    patches: list[str] = Field(default_factory=list, description="unified diffs, in order")


class ApplyPatches(Frame):
    t: Literal["ws.apply"] = "ws.apply"
    id: RequestId
    workspace: WorkspaceId
    tenant: TenantId
    patches: list[str] = Field(min_length=1)


class WriteFile(Frame):
    t: Literal["ws.write"] = "ws.write"
    id: RequestId
    workspace: WorkspaceId
    tenant: TenantId
    path: RelPath
    content: bytes


class ReadFile(Frame):
    t: Literal["ws.read"] = "ws.read"
    id: RequestId
    workspace: WorkspaceId
    tenant: TenantId
    path: RelPath


class ListFiles(Frame):
    t: Literal["ws.list"] = "ws.list"
    id: RequestId
    workspace: WorkspaceId
    tenant: TenantId
    path: str = "."


class DeleteFile(Frame):
    t: Literal["ws.delete"] = "ws.delete"
    id: RequestId
    workspace: WorkspaceId
    tenant: TenantId
    path: RelPath


class CopyPath(Frame):
    """Copies ``path`` (a file, a link or a directory with its contents) from the tenant's
    workspace ``source`` into ``workspace`` at the same path, which must not exist there."""

    t: Literal["ws.copy"] = "ws.copy"
    id: RequestId
    workspace: WorkspaceId
    tenant: TenantId
    source: WorkspaceId
    path: RelPath


class DropWorkspace(Frame):
    t: Literal["ws.drop"] = "ws.drop"
    id: RequestId
    workspace: WorkspaceId
    tenant: TenantId


class Hello(Frame):
    """Asks sandboxd who it is; answered by Welcome."""

    t: Literal["hello"] = "hello"
    id: RequestId


Request = Annotated[
    Exec
    | Cancel
    | CreateWorkspace
    | ApplyPatches
    | WriteFile
    | ReadFile
    | ListFiles
    | DeleteFile
    | CopyPath
    | DropWorkspace
    | Hello,
    Field(discriminator="t"),
]


# -- replies (sandboxd -> client) ----------------------------------------------------------------
class Welcome(Frame):
    t: Literal["welcome"] = "welcome"
    id: RequestId
    backend: str
    protections: dict[str, bool] = Field(default_factory=dict)
    max_concurrent: int


class Queued(Frame):
    """The exec waits for a free slot (the concurrency cap)."""

    t: Literal["queued"] = "queued"
    id: RequestId
    position: int = Field(ge=1)


class Started(Frame):
    t: Literal["started"] = "started"
    id: RequestId


class Output(Frame):
    t: Literal["out"] = "out"
    id: RequestId
    stream: Literal["stdout", "stderr"]
    data: bytes


class Exited(Frame):
    t: Literal["exit"] = "exit"
    id: RequestId
    code: int | None = Field(description="exit status, None when killed by a signal")
    signal: int | None = None
    duration_s: float = Field(ge=0)
    oom: bool = False
    timed_out: bool = False
    cancelled: bool = False
    output_truncated: bool = False


class FileEntry(Contract):
    path: str
    size: int
    is_dir: bool


class Done(Frame):
    """A workspace request succeeded; ``content`` for reads, ``entries`` for lists."""

    t: Literal["done"] = "done"
    id: RequestId
    content: bytes | None = None
    entries: list[FileEntry] | None = None
    commit: str | None = None


class Error(Frame):
    """A request failed, or a frame could not be read (``id`` is then None)."""

    t: Literal["error"] = "error"
    id: str | None = None
    code: Literal[
        "bad_frame",
        "too_large",
        "unknown_type",
        "bad_version",
        "invalid",
        "not_found",
        "quota",
        "conflict",
        "unavailable",
        "internal",
    ]
    message: str


Reply = Annotated[
    Welcome | Queued | Started | Output | Exited | Done | Error, Field(discriminator="t")
]

REQUEST = TypeAdapter[Request](Request)
REPLY = TypeAdapter[Reply](Reply)
