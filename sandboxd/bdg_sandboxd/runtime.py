"""What the daemon's connections share: backend, workspaces, slots, egress proxy, error mapping."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel

from bdg_contracts import sandbox as sb
from bdg_sandboxd.backend import Backend
from bdg_sandboxd.cache_leases import CacheLeases
from bdg_sandboxd.ceilings import TenantCeilings, over_ceilings
from bdg_sandboxd.execs import Slots
from bdg_sandboxd.tenant_disks import TenantDisks


class WorkspaceStore(Protocol):
    """The workspaces as the daemon uses them (``bdg_sandboxd.workspaces.Workspaces``)."""

    def path_of(self, tenant: str, workspace: str) -> Path: ...
    def create(self, tenant: str, workspace: str, source: sb.Source, patches: list[str]) -> str: ...
    def apply(self, tenant: str, workspace: str, patches: list[str]) -> None: ...
    def write(self, tenant: str, workspace: str, path: str, content: bytes) -> None: ...
    def read(self, tenant: str, workspace: str, path: str) -> bytes: ...
    def list(self, tenant: str, workspace: str, path: str = ".") -> list[sb.FileEntry]: ...
    def delete(self, tenant: str, workspace: str, path: str) -> None: ...
    def copy(self, tenant: str, workspace: str, source: str, path: str) -> None: ...
    def drop(self, tenant: str, workspace: str) -> object: ...


class Runtime:
    def __init__(
        self,
        backend: Backend,
        workspaces: WorkspaceStore,
        max_concurrent: int,
        max_queued: int,
        proxy_socket: Path | None = None,
        rootfs: Path | None = None,
        max_frame_bytes: int = sb.MAX_FRAME_BYTES,
        caches: CacheLeases | None = None,
        ceilings: TenantCeilings | None = None,
        max_queued_bytes: int = 8 << 20,
        client_stall_s: float = 30.0,
        disks: TenantDisks | None = None,
    ) -> None:
        self.backend, self.workspaces, self.caches = backend, workspaces, caches
        self.ceilings = ceilings or TenantCeilings()
        # Per connection: replies held for a client before it is taken for gone (outbox.py).
        self.max_queued_bytes, self.client_stall_s = max_queued_bytes, client_stall_s
        self.disks = disks
        self.max_concurrent = max_concurrent
        self.slots = Slots(max_concurrent, max_queued)
        self._proxy_socket, self.rootfs = proxy_socket, rootfs
        self.max_frame_bytes = max_frame_bytes
        self._runs = itertools.count(1)

    def welcome(self, request_id: str) -> sb.Welcome:
        return sb.Welcome(
            id=request_id,
            backend=self.backend.name,
            protections={
                **self.backend.protections(),
                "disk_quota_during_exec": self.disks is not None and self.disks.mode.bounded,
            },
            max_concurrent=self.max_concurrent,
        )

    def new_run_id(self) -> str:
        return f"bdg-{os.getpid()}-{next(self._runs)}"

    def check_limits(self, request: sb.Exec) -> None:
        """Refuse (never clamp) limits above the tenant's ceilings."""
        over = over_ceilings(request.limits, self.ceilings.of(request.tenant))
        if over:
            raise InvalidRequestError(
                f"over the ceilings for tenant {request.tenant!r}: {'; '.join(over)}"
            )

    def proxy_socket(self, network: str) -> Path | None:
        if network == "registry" and self._proxy_socket is None:
            raise UnavailableError("the registry network policy needs the egress proxy")
        return self._proxy_socket if network == "registry" else None

    @asynccontextmanager
    async def cache(self, request: sb.Exec) -> AsyncIterator[Path | None]:
        """The tenant's cache directory while the exec runs, when it asks for it."""
        if not request.cache:
            yield None
            return
        if self.caches is None:
            raise UnavailableError("this sandboxd keeps no package caches")
        async with self.caches.lease(request.tenant) as path:
            yield path

    async def _tenant_disk(self, tenant: str) -> None:
        if self.disks is not None:
            await asyncio.to_thread(self.disks.ensure, tenant)

    async def workspace_path(self, tenant: str, workspace: str) -> Path:
        await self._tenant_disk(tenant)
        path = await asyncio.to_thread(self.workspaces.path_of, tenant, workspace)
        if not path.is_dir():
            raise NotFoundError(f"no workspace {workspace!r} for tenant {tenant!r}")
        return path

    async def workspace_request(self, request: sb.Request) -> BaseModel:
        """Workspace operations are file system work: done in a thread."""
        ws = self.workspaces
        await self._tenant_disk(getattr(request, "tenant", ""))
        match request:
            case sb.CreateWorkspace():
                commit = await asyncio.to_thread(
                    ws.create, request.tenant, request.workspace, request.source, request.patches
                )
                return sb.Done(id=request.id, commit=commit)
            case sb.ApplyPatches():
                await asyncio.to_thread(
                    ws.apply, request.tenant, request.workspace, request.patches
                )
            case sb.WriteFile():
                await asyncio.to_thread(
                    ws.write, request.tenant, request.workspace, request.path, request.content
                )
            case sb.ReadFile():
                content = await asyncio.to_thread(
                    ws.read, request.tenant, request.workspace, request.path
                )
                return sb.Done(id=request.id, content=content)
            case sb.ListFiles():
                entries = await asyncio.to_thread(
                    ws.list, request.tenant, request.workspace, request.path
                )
                return sb.Done(id=request.id, entries=entries)
            case sb.DeleteFile():
                await asyncio.to_thread(ws.delete, request.tenant, request.workspace, request.path)
            case sb.CopyPath():
                await asyncio.to_thread(
                    ws.copy, request.tenant, request.workspace, request.source, request.path
                )
            case sb.DropWorkspace():
                await asyncio.to_thread(ws.drop, request.tenant, request.workspace)
            case _:
                raise TypeError(f"not a workspace request: {type(request).__name__}")
        return sb.Done(id=request.id)

    @staticmethod
    def error_frame(request_id: str, error: Exception) -> sb.Error:
        code = getattr(error, "code", None)
        if code in {"invalid", "not_found", "quota", "conflict", "unavailable"}:
            return sb.Error(id=request_id, code=code, message=str(error))
        return sb.Error(id=request_id, code="internal", message=f"{type(error).__name__}: {error}")


class InvalidRequestError(ValueError):
    code = "invalid"


class NotFoundError(LookupError):
    code = "not_found"


class UnavailableError(RuntimeError):
    code = "unavailable"
