"""The audit trail over HTTP: the public keys (JWKS) and verification of the caller's files.

The reader (object store + log) is built on first use from the audit settings, unless one was
installed on ``app.state.audit`` (tests, or a composition root that already has one). Every
route takes the tenant from the token; another tenant's job is answered like a missing one.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Request

from bdg_audit.reader import AuditReader
from bdg_audit.settings import AuditSettings
from bdg_audit.store import ObjectStore, StorageUnavailableError
from bdg_gateway.deps import CurrentCaller, gateway_of
from bdg_runtime.embedded import start_embedded

router = APIRouter(tags=["audit"])
_lock = asyncio.Lock()


def _build(request: Request) -> AuditReader:
    settings = AuditSettings()
    endpoint = settings.bdg_s3_endpoint
    if not endpoint:  # the embedded SeaweedFS under BDG_HOME, joined for the gateway's life
        stack = start_embedded(settings.bdg_home, postgres=False, nats=False, s3=True)
        request.app.state.audit_stack = stack
        endpoint = stack.s3_url
    assert endpoint
    conninfo = gateway_of(request.app).queries.pool.conninfo
    return AuditReader(
        ObjectStore.connect(endpoint, settings), str(conninfo), settings.bdg_audit_prefix
    )


async def _reader(request: Request) -> AuditReader:
    async with _lock:
        reader: AuditReader | None = getattr(request.app.state, "audit", None)
        if reader is None:
            reader = await asyncio.to_thread(_build, request)
            request.app.state.audit = reader
        return reader


def _unavailable(error: StorageUnavailableError) -> HTTPException:
    return HTTPException(status_code=503, detail=f"audit storage unreachable: {error}")


@router.get("/agent/audit/keys", summary="Public keys of the audit signatures (JWKS)")
async def audit_keys(request: Request, caller: CurrentCaller) -> dict[str, Any]:
    reader = await _reader(request)
    try:
        return await asyncio.to_thread(reader.jwks)
    except StorageUnavailableError as error:
        raise _unavailable(error) from None


@router.get("/agent/audit/verify", summary="Verify the caller's audit files, by file and row")
async def audit_verify(
    request: Request,
    caller: CurrentCaller,
    job: Annotated[UUID | None, Query(description="only this job's files")] = None,
    start: Annotated[date | None, Query(alias="from", description="first end date")] = None,
    end: Annotated[date | None, Query(alias="to", description="last end date")] = None,
) -> dict[str, Any]:
    if start and end and start > end:
        raise HTTPException(status_code=422, detail="from: must not be after to")
    reader = await _reader(request)
    job_id = str(job) if job else None
    try:
        report = await asyncio.to_thread(reader.verify, caller.tenant_id, start, end, job_id)
    except StorageUnavailableError as error:
        raise _unavailable(error) from None
    if job_id and not report.files:
        raise HTTPException(status_code=404, detail=f"no audit file for job {job_id}")
    return report.as_json()
