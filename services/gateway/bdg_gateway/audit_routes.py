"""The audit trail over HTTP: the public keys (JWKS) and verification of the caller's files.

The reader (object store + log) is built on first use from the audit settings, unless one was
installed on ``app.state.audit`` (tests, or a composition root that already has one). The S3
endpoint is configured (``BDG_S3_ENDPOINT``; `bdg up` passes its SeaweedFS's): the gateway
never starts a SeaweedFS of its own, which nothing would stop. Every route takes the tenant from
the token; another tenant's job is answered like a missing one.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from bdg_audit.export import ExportQuery, ExportRangeError
from bdg_audit.reader import AuditReader
from bdg_audit.report import as_csv, as_html
from bdg_audit.settings import AuditSettings
from bdg_audit.store import ObjectStore, StorageUnavailableError
from bdg_gateway.days import Day
from bdg_gateway.deps import CurrentCaller, gateway_of
from bdg_jobs.personal.pseudonyms import lookup_pseudonym

router = APIRouter(tags=["audit"])
_lock = asyncio.Lock()


NO_ENDPOINT = (
    "audit storage is not configured: set BDG_S3_ENDPOINT (or AWS_ENDPOINT_URL) to an S3 API; "
    "`bdg up` sets it to the SeaweedFS it starts"
)


def _build(request: Request) -> AuditReader:
    settings = AuditSettings()
    endpoint = settings.bdg_s3_endpoint
    if not endpoint:
        raise HTTPException(status_code=503, detail=NO_ENDPOINT)
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


def _as_written(request: Request, tenant: str, user: str) -> str:
    """``user`` as audit files name them: their pseudonym when the log seals."""
    personal = gateway_of(request.app).commands.app.store.personal
    return user if personal is None else lookup_pseudonym(personal.vault, tenant, user)


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
    start: Annotated[Day | None, Query(alias="from", description="first end date")] = None,
    end: Annotated[Day | None, Query(alias="to", description="last end date")] = None,
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


@router.get(
    "/agent/audit/export",
    summary="The caller's audit rows as CSV, streamed",
    response_class=StreamingResponse,
)
async def audit_export(
    request: Request,
    caller: CurrentCaller,
    start: Annotated[Day, Query(alias="from", description="first day (row timestamps)")],
    end: Annotated[Day, Query(alias="to", description="last day")],
    user: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
) -> StreamingResponse:
    if user is not None:  # files name people by pseudonym (bdg_jobs.personal.pseudonyms)
        user = await asyncio.to_thread(_as_written, request, caller.tenant_id, user)
    query = ExportQuery(start, end, user, action)
    try:
        query.check(AuditSettings().bdg_audit_export_max_days)
    except ExportRangeError as error:
        raise HTTPException(status_code=422, detail=str(error)) from None
    reader = await _reader(request)
    try:  # the file list before the first byte, so an unreachable store is a clean 503
        files = await asyncio.to_thread(reader.export_files, caller.tenant_id, query)
    except StorageUnavailableError as error:
        raise _unavailable(error) from None
    name = f"audit-{caller.tenant_id}-{start}-{end}.csv"
    return StreamingResponse(
        reader.export(files, query),  # a sync iterator: Starlette runs it in a thread
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/agent/audit/report",
    summary="The period's audit report, CSV or printable HTML",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def audit_report(
    request: Request,
    caller: CurrentCaller,
    start: Annotated[Day, Query(alias="from", description="first day")],
    end: Annotated[Day, Query(alias="to", description="last day")],
    kind: Annotated[Literal["csv", "html"], Query(alias="format")] = "html",
) -> Response:
    query = ExportQuery(start, end)
    try:
        query.check(AuditSettings().bdg_audit_export_max_days)
    except ExportRangeError as error:
        raise HTTPException(status_code=422, detail=str(error)) from None
    reader = await _reader(request)
    try:
        report = await asyncio.to_thread(reader.report, caller.tenant_id, query)
    except StorageUnavailableError as error:
        raise _unavailable(error) from None
    if kind == "csv":
        return Response(as_csv(report), media_type="text/csv")
    return HTMLResponse(as_html(report, caller.tenant_id))
