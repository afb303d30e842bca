"""Personal data over HTTP: erasing a person (GDPR art. 17, ``POST /agent/data-delete``) and
the caller's own consents (art. 7, ``GET``/``POST /agent/consent``).

A tenant admin erases anyone of the tenant, anyone else only themself; the tenant is the
token's, so another tenant's person is unknown here (404). The use case is built on first use
from the gateway's own store, database and bus (``bdg_jobs.personal.erasure``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, Request

from bdg_contracts.privacy_events import DeletePersonalData, RecordConsent
from bdg_gateway.deps import CurrentCaller, CurrentGateway
from bdg_gateway.strict_json import StrictJsonRoute
from bdg_jobs.personal.consents import Consents
from bdg_jobs.personal.erasure import Erasure, UnknownPersonError
from bdg_runtime.bus_erasure import BusPurger

router = APIRouter(tags=["privacy"], route_class=StrictJsonRoute)
_lock = asyncio.Lock()


async def _erasure(request: Request, gateway: CurrentGateway) -> Erasure:
    async with _lock:
        erasure: Erasure | None = getattr(request.app.state, "erasure", None)
        if erasure is None:
            app = gateway.commands.app
            url = str(gateway.queries.pool.conninfo)
            erasure = Erasure(app.store, url, BusPurger(gateway.nc.jetstream()), app.clock)
            request.app.state.erasure = erasure
        return erasure


@router.post(
    "/agent/data-delete",
    summary="Erase a person: keys, read models, threads, index, bus; a signed record",
    responses={403: {"description": "not an admin, and not the caller"}, 404: {}},
)
async def data_delete(
    request: Request, body: DeletePersonalData, caller: CurrentCaller, gateway: CurrentGateway
) -> dict[str, Any]:
    if body.user != caller.user_id and not caller.admin:
        raise HTTPException(
            status_code=403, detail="user: only a tenant admin may erase someone else"
        )
    erasure = await _erasure(request, gateway)
    try:
        outcome = await erasure.erase(caller.tenant_id, body.user, caller.user_id)
    except UnknownPersonError:
        raise HTTPException(status_code=404, detail=f"user: no {body.user!r} here") from None
    return {
        "erasure_id": str(outcome.erasure_id),
        "already_erased": outcome.already,
        "categories": [c.value for c in outcome.categories],
        "jobs": outcome.jobs,
    }


@router.get("/agent/consent", summary="The caller's consents, per purpose")
async def consent(caller: CurrentCaller, gateway: CurrentGateway) -> dict[str, bool]:
    consents = Consents(gateway.commands.app.store)
    state = await asyncio.to_thread(consents.current, caller.tenant_id, caller.user_id)
    return {purpose.value: given for purpose, given in state.items()}


@router.post("/agent/consent", summary="Give or withdraw the caller's consent to a purpose")
async def record_consent(
    body: RecordConsent, caller: CurrentCaller, gateway: CurrentGateway
) -> dict[str, bool]:
    app = gateway.commands.app
    state = await asyncio.to_thread(
        Consents(app.store).record,
        caller.tenant_id,
        caller.user_id,
        body.purpose,
        body.given,
        app.clock(),
    )
    return {purpose.value: given for purpose, given in state.items()}
