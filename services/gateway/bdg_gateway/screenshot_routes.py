"""The browser checks' screenshots of a job, for the web UI and issue comments to link.

The tester keeps each PNG by its sha256 in BDG_TEST_ARTIFACTS_DIR and names it in the job's
TestsPassed/TestsFailed (``results.screenshot``). A screenshot is served only when the caller's
job names it (another tenant's job is a 404, as on every job route) and its bytes still hash to
that name; the folder is never reached from a name the caller made up.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path as FsPath
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, FastAPI, HTTPException, Path, Request, Response

from bdg_contracts import events as ev
from bdg_gateway.deps import Commands, CurrentCaller

router = APIRouter(prefix="/jobs", tags=["attempts"])
Digest = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="the PNG's sha256")]


def install(app: FastAPI, folder: FsPath | None) -> None:
    app.state.screenshots = folder
    app.include_router(router)


def _read(path: FsPath) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


@router.get(
    "/{job_id}/screenshots/{digest}",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "the PNG"},
        404: {"description": "no such job, or it names no such screenshot, or none is kept"},
    },
)
async def get_screenshot(
    job_id: UUID, digest: Digest, caller: CurrentCaller, commands: Commands, request: Request
) -> Response:
    """A screenshot the job's browser check took (its digest is in the test outcome's results)."""
    history = await commands.events(caller, job_id)
    named = {
        e.results.screenshot for e in history if isinstance(e, ev.TestsPassed | ev.TestsFailed)
    }
    if digest not in named:
        raise HTTPException(404, f"job {job_id} names no screenshot {digest}")
    folder: FsPath | None = request.app.state.screenshots
    data = None if folder is None else await asyncio.to_thread(_read, folder / f"{digest}.png")
    if data is None or hashlib.sha256(data).hexdigest() != digest:
        raise HTTPException(404, f"screenshot {digest} is not kept here")
    # named by its content: it never changes
    return Response(data, media_type="image/png", headers={"Cache-Control": "private, immutable"})
