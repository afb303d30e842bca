"""One client connection: read frames, dispatch each request by its class, write replies.

A bad frame gets an error frame and the connection goes on; a closed connection kills every
exec it started. What a connection may hold is bounded: replies by its outbox (outbox.py),
workspace requests by ``MAX_IN_FLIGHT`` (more are refused, not queued), execs by the slots.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from pydantic import BaseModel, ValidationError

from bdg_contracts import sandbox as sb
from bdg_sandbox.codec import FrameError, encode, read_raw
from bdg_sandboxd.backend import RunSpec
from bdg_sandboxd.execs import OutputCap, QueueFullError
from bdg_sandboxd.outbox import Outbox
from bdg_sandboxd.runtime import Runtime

log = logging.getLogger(__name__)
MAX_IN_FLIGHT = 64  # workspace requests per connection (each holds a frame of up to 1 MiB)
KNOWN_TYPES = frozenset(
    str(cls.model_fields["t"].default)
    for cls in (
        sb.Exec,
        sb.Cancel,
        sb.CreateWorkspace,
        sb.ApplyPatches,
        sb.WriteFile,
        sb.ReadFile,
        sb.ListFiles,
        sb.DeleteFile,
        sb.CopyPath,
        sb.DropWorkspace,
        sb.Hello,
    )
)


class Connection:
    def __init__(
        self, runtime: Runtime, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.runtime, self.reader, self.writer = runtime, reader, writer
        self.outbox = Outbox(writer, runtime.max_queued_bytes, runtime.client_stall_s)
        self.execs: dict[str, asyncio.Task[None]] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.in_flight = 0

    async def run(self) -> None:
        try:
            while self.outbox.closed is None:
                request = await self._next_request()
                if request is not None:
                    self._dispatch(request)
        except (EOFError, asyncio.IncompleteReadError, ConnectionError):
            pass  # the client went away: below, everything it started is killed
        finally:
            await self._shutdown()

    async def _next_request(self) -> sb.Request | None:
        """The next request; None after a bad frame (answered); EOFError at end of stream."""
        try:
            raw = await read_raw(self.reader, self.runtime.max_frame_bytes)
        except FrameError as error:
            await self.send(sb.Error(code=error.code, message=str(error)))  # type: ignore[arg-type]
            if error.fatal:
                raise EOFError(str(error)) from error
            return None
        if raw is None:
            raise EOFError("the client closed the connection")
        return await self._parse(raw)

    async def _parse(self, raw: Any) -> sb.Request | None:
        if not isinstance(raw, dict):
            await self.send(sb.Error(code="bad_frame", message="a frame must be a msgpack map"))
            return None
        request_id = raw.get("id") if isinstance(raw.get("id"), str) else None
        if raw.get("v") != sb.PROTOCOL_VERSION:
            await self.send(
                sb.Error(
                    id=request_id,
                    code="bad_version",
                    message=f"protocol version {raw.get('v')!r} is not 1",
                )
            )
            return None
        if raw.get("t") not in KNOWN_TYPES:
            await self.send(
                sb.Error(
                    id=request_id,
                    code="unknown_type",
                    message=f"unknown frame type {raw.get('t')!r}",
                )
            )
            return None
        try:
            return sb.REQUEST.validate_python(raw)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in error.errors()
            )
            await self.send(sb.Error(id=request_id, code="invalid", message=problems))
            return None

    def _dispatch(self, request: sb.Request) -> None:
        if isinstance(request, sb.Cancel):
            self._spawn(self._cancel(request))
        elif isinstance(request, sb.Exec):
            if request.id in self.execs:
                running = f"exec {request.id!r} is running"
                self._reply(sb.Error(id=request.id, code="conflict", message=running))
                return
            task = self._spawn(self._exec(request))
            self.execs[request.id] = task
            task.add_done_callback(lambda _: self.execs.pop(request.id, None))
        elif isinstance(request, sb.Hello):
            self._reply(self.runtime.welcome(request.id))
        elif self.in_flight >= MAX_IN_FLIGHT:
            busy = f"{self.in_flight} requests in flight here (at most {MAX_IN_FLIGHT})"
            self._reply(sb.Error(id=request.id, code="unavailable", message=busy))
        else:
            self.in_flight += 1
            self._spawn(self._workspace(request))

    def _spawn(self, work: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def send(self, frame: BaseModel) -> None:
        data = self._encoded(frame)
        if isinstance(frame, sb.Output):
            await self.outbox.put_when_room(data)  # a slow client slows its execs' output
        else:
            self.outbox.put(data)

    def _reply(self, frame: BaseModel) -> None:
        """Queue a reply now; past the bound the connection is closing, which run() sees."""
        with contextlib.suppress(ConnectionError):
            self.outbox.put(self._encoded(frame))

    def _encoded(self, frame: BaseModel) -> bytes:
        data = encode(frame)
        if len(data) > self.runtime.max_frame_bytes + 4:
            # A reply the client could not read (a huge file, a huge listing): an error instead.
            request_id = getattr(frame, "id", None)
            data = encode(
                sb.Error(
                    id=request_id,
                    code="too_large",
                    message=f"the reply is {len(data)} bytes, over the frame limit",
                )
            )
        return data

    async def _cancel(self, request: sb.Cancel) -> None:
        task = self.execs.get(request.id)
        if task is None:
            await self.send(
                sb.Error(id=request.id, code="not_found", message=f"no running exec {request.id!r}")
            )
            return
        task.cancel()

    async def _exec(self, request: sb.Exec) -> None:
        async with contextlib.AsyncExitStack() as held:  # the cache, while the exec runs
            await self._run_exec(request, held)

    async def _run_exec(self, request: sb.Exec, held: contextlib.AsyncExitStack) -> None:
        started = time.monotonic()
        cap = OutputCap(request.id, request.limits.output_bytes, self.send)
        try:
            self.runtime.check_limits(request)
            workspace = await self.runtime.workspace_path(request.tenant, request.workspace)
            cache = await held.enter_async_context(self.runtime.cache(request))
            spec = RunSpec(
                run_id=self.runtime.new_run_id(),
                argv=request.argv,
                workspace=workspace,
                cwd=request.cwd,
                env=request.env,
                limits=request.limits,
                network=request.network,
                proxy_socket=self.runtime.proxy_socket(request.network),
                stdin=request.stdin,
                rootfs=self.runtime.rootfs,
                cache=cache,
            )
            await self.runtime.slots.acquire(
                lambda n: self.send(sb.Queued(id=request.id, position=n))
            )
        except QueueFullError as error:
            await self.send(sb.Error(id=request.id, code="unavailable", message=str(error)))
            return
        except asyncio.CancelledError:
            await self._send_quietly(self._exited(request.id, started, cancelled=True))
            raise
        except Exception as error:
            await self.send(self.runtime.error_frame(request.id, error))
            return
        try:
            await self.send(sb.Started(id=request.id))
            result = await self.runtime.backend.run(spec, cap)
        except asyncio.CancelledError:
            await self._send_quietly(
                self._exited(request.id, started, cancelled=True, truncated=cap.truncated)
            )
            raise
        except Exception as error:
            log.exception("exec %s failed in the backend", request.id)
            await self.send(self.runtime.error_frame(request.id, error))
            return
        finally:
            self.runtime.slots.release()
            # Before the exit frame: the client's next exec then finds the cache's quota checked.
            await held.aclose()
        await self.send(
            sb.Exited(
                id=request.id,
                code=result.code,
                signal=result.signal,
                duration_s=result.duration_s,
                oom=result.oom,
                timed_out=result.timed_out,
                output_truncated=cap.truncated,
            )
        )

    @staticmethod
    def _exited(
        request_id: str, started: float, *, cancelled: bool, truncated: bool = False
    ) -> sb.Exited:
        return sb.Exited(
            id=request_id,
            code=None,
            duration_s=time.monotonic() - started,
            cancelled=cancelled,
            output_truncated=truncated,
        )

    async def _send_quietly(self, frame: BaseModel) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.send(frame)

    async def _workspace(self, request: sb.Request) -> None:
        try:
            reply = await self.runtime.workspace_request(request)
        except Exception as error:
            reply = self.runtime.error_frame(request.id, error)
        finally:
            self.in_flight -= 1
        await self._send_quietly(reply)

    async def _shutdown(self) -> None:
        for task in list(self.execs.values()):
            task.cancel()
        pending = list(self.tasks)
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        await self.outbox.close()
