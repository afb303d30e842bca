"""Async client of sandboxd, used by the services.

One connection carries many requests; a reader task routes replies to their request by id.
A lost connection fails the requests in flight (SandboxUnavailableError) and the next request
connects again. Cancelling an ``exec`` cancels the run in the sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from pydantic import BaseModel

from bdg_contracts import sandbox as sb
from bdg_sandbox.codec import encode, read_raw
from bdg_telemetry import metrics, tracing

OnOutput = Callable[[str, bytes], Awaitable[None] | None]


class SandboxUnavailableError(ConnectionError):
    """No sandboxd answers at the endpoint, or the connection was lost."""


class SandboxRequestError(RuntimeError):
    """sandboxd refused or failed a request: ``code`` is the protocol's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass
class ExecResult:
    exited: sb.Exited
    stdout: bytes = b""
    stderr: bytes = b""
    queued_at: int | None = None

    @property
    def ok(self) -> bool:
        return self.exited.code == 0


@dataclass
class _Pending:
    replies: asyncio.Queue[BaseModel | BaseException] = field(default_factory=asyncio.Queue)


class SandboxClient:
    def __init__(self, endpoint: str, connect_timeout: float = 2.0) -> None:
        parsed = urlparse(endpoint)
        if parsed.scheme != "unix" or not parsed.path:
            raise ValueError(f"sandbox endpoint must be unix:///path, not {endpoint!r}")
        self.path = Path(parsed.path)
        self.connect_timeout = connect_timeout
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._pending: dict[str, _Pending] = {}
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> SandboxClient:
        await self._connection()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader_task
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
        self._writer = self._reader_task = None

    # -- requests ---------------------------------------------------------------------------
    async def hello(self) -> sb.Welcome:
        reply = await self._call(sb.Hello(id=self._id()))
        assert isinstance(reply, sb.Welcome)
        return reply

    async def create_workspace(
        self,
        tenant: str,
        workspace: str,
        repo: str = "",
        commit: str = "HEAD",
        patches: list[str] | None = None,
    ) -> str | None:
        reply = await self._call(
            sb.CreateWorkspace(
                id=self._id(),
                tenant=tenant,
                workspace=workspace,
                source=sb.Source(repo=repo, commit=commit),
                patches=patches or [],
            )
        )
        assert isinstance(reply, sb.Done)
        return reply.commit

    async def apply_patches(self, tenant: str, workspace: str, patches: list[str]) -> None:
        await self._call(
            sb.ApplyPatches(id=self._id(), tenant=tenant, workspace=workspace, patches=patches)
        )

    async def write_file(self, tenant: str, workspace: str, path: str, content: bytes) -> None:
        await self._call(
            sb.WriteFile(
                id=self._id(), tenant=tenant, workspace=workspace, path=path, content=content
            )
        )

    async def read_file(self, tenant: str, workspace: str, path: str) -> bytes:
        reply = await self._call(
            sb.ReadFile(id=self._id(), tenant=tenant, workspace=workspace, path=path)
        )
        assert isinstance(reply, sb.Done)
        return reply.content or b""

    async def list_files(self, tenant: str, workspace: str, path: str = ".") -> list[sb.FileEntry]:
        reply = await self._call(
            sb.ListFiles(id=self._id(), tenant=tenant, workspace=workspace, path=path)
        )
        assert isinstance(reply, sb.Done)
        return reply.entries or []

    async def delete_file(self, tenant: str, workspace: str, path: str) -> None:
        await self._call(
            sb.DeleteFile(id=self._id(), tenant=tenant, workspace=workspace, path=path)
        )

    async def copy_path(self, tenant: str, workspace: str, source: str, path: str) -> None:
        """Copy ``path`` from the tenant's workspace ``source`` into ``workspace`` (ws.copy)."""
        await self._call(
            sb.CopyPath(id=self._id(), tenant=tenant, workspace=workspace, source=source, path=path)
        )

    async def drop_workspace(self, tenant: str, workspace: str) -> None:
        await self._call(sb.DropWorkspace(id=self._id(), tenant=tenant, workspace=workspace))

    async def exec(
        self,
        tenant: str,
        workspace: str,
        argv: list[str],
        *,
        on_output: OnOutput | None = None,
        keep_output: int = 1 << 20,
        **fields: object,
    ) -> ExecResult:
        """Run ``argv``; output is passed to ``on_output`` as it comes and the first
        ``keep_output`` bytes of each stream are kept in the result."""
        frame = sb.Exec(id=self._id(), tenant=tenant, workspace=workspace, argv=argv, **fields)  # type: ignore[arg-type]
        # Names from a tenant's job: cut, so a span stays small.
        executable = argv[0][:200] if argv else ""
        attributes = {"process.executable.name": executable, "bdg.tenant_id": tenant}
        outcome = "error"
        started = time.perf_counter()
        try:
            with tracing.span("sandbox exec", attributes, kind="client") as span:
                result = await self._exec(frame, on_output, keep_output)
                span.set("process.exit.code", result.exited.code)
                span.set("bdg.sandbox.timed_out", result.exited.timed_out)
                outcome = (
                    "ok" if result.ok else "timed_out" if result.exited.timed_out else "failed"
                )
                return result
        finally:
            service = metrics.service()
            metrics.SANDBOX_EXECS.labels(service, outcome).inc()
            metrics.SANDBOX_EXEC_SECONDS.labels(service).observe(time.perf_counter() - started)

    async def _exec(
        self, frame: sb.Exec, on_output: OnOutput | None, keep_output: int
    ) -> ExecResult:
        out: dict[str, bytearray] = {"stdout": bytearray(), "stderr": bytearray()}
        queued: int | None = None
        async for reply in self.stream(frame):
            if isinstance(reply, sb.Output):
                kept = out[reply.stream]
                kept += reply.data[: max(keep_output - len(kept), 0)]
                if on_output is not None:
                    result = on_output(reply.stream, reply.data)
                    if result is not None:
                        await result
            elif isinstance(reply, sb.Queued):
                queued = reply.position
            elif isinstance(reply, sb.Exited):
                return ExecResult(reply, bytes(out["stdout"]), bytes(out["stderr"]), queued)
        raise SandboxUnavailableError("the exec ended without an exit frame")

    async def stream(self, frame: sb.Exec) -> AsyncIterator[BaseModel]:
        """Every reply to one exec, up to and including its Exited frame."""
        pending = await self._send(frame)
        try:
            while True:
                reply = await pending.replies.get()
                if isinstance(reply, BaseException):
                    raise reply
                if isinstance(reply, sb.Error):
                    raise SandboxRequestError(reply.code, reply.message)
                yield reply
                if isinstance(reply, sb.Exited):
                    return
        except (asyncio.CancelledError, GeneratorExit):
            # The caller gave up: kill the run in the sandbox, not only our wait for it.
            with contextlib.suppress(Exception):
                await self._write(sb.Cancel(id=frame.id))
            raise
        finally:
            self._pending.pop(frame.id, None)

    # -- plumbing ---------------------------------------------------------------------------
    def _id(self) -> str:
        return f"c{next(self._ids)}"

    async def _call(self, frame: sb.Request) -> BaseModel:
        pending = await self._send(frame)
        try:
            reply = await pending.replies.get()
        finally:
            self._pending.pop(frame.id, None)
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, sb.Error):
            raise SandboxRequestError(reply.code, reply.message)
        return reply

    async def _send(self, frame: sb.Request) -> _Pending:
        await self._connection()
        pending = self._pending[frame.id] = _Pending()
        await self._write(frame)
        return pending

    async def _write(self, frame: BaseModel) -> None:
        writer = await self._connection()
        try:
            writer.write(encode(frame))
            await writer.drain()
        except ConnectionError as error:
            raise SandboxUnavailableError(f"sandboxd at {self.path}: {error}") from error

    async def _connection(self) -> asyncio.StreamWriter:
        async with self._lock:
            if self._writer is not None and not self._writer.is_closing():
                return self._writer
            try:
                async with asyncio.timeout(self.connect_timeout):
                    reader, writer = await asyncio.open_unix_connection(str(self.path))
            except (OSError, TimeoutError) as error:
                raise SandboxUnavailableError(
                    f"no sandboxd at {self.path}: {error or 'timed out'}"
                ) from error
            self._writer = writer
            self._reader_task = asyncio.create_task(self._read(reader))
            return writer

    async def _read(self, reader: asyncio.StreamReader) -> None:
        error: BaseException = SandboxUnavailableError(f"sandboxd at {self.path} went away")
        try:
            while (raw := await read_raw(reader)) is not None:
                reply = sb.REPLY.validate_python(raw)
                request_id = getattr(reply, "id", None)
                target = self._pending.get(request_id) if request_id else None
                if target is not None:
                    target.replies.put_nowait(reply)
        except asyncio.CancelledError:
            error = SandboxUnavailableError("the client was closed")
            raise
        except Exception as failure:
            error = SandboxUnavailableError(f"sandboxd at {self.path}: {failure}")
        finally:
            if self._writer is not None:
                self._writer.close()
            self._writer = None
            for pending in self._pending.values():
                pending.replies.put_nowait(error)
