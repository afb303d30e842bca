"""Plan management: the versions of a job's plan and the diff between two of them.

Editing (``POST /jobs/{id}/plan``) and approving are job commands in ``api.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import PlainTextResponse

from bdg_contracts.numbers import MAX_INT4
from bdg_gateway.deps import Commands, CurrentCaller
from bdg_gateway.strict_json import StrictJsonRoute
from bdg_gateway.views import View
from bdg_jobs.plans import PlanVersionError, plan_diff, plan_versions

router = APIRouter(prefix="/jobs", tags=["plans"], route_class=StrictJsonRoute)


class PlanVersionView(View):
    number: int
    markdown: str
    author: str
    event_version: int
    at: datetime
    kind: str


class PlanHistory(View):
    current: str
    versions: list[PlanVersionView]


@router.get("/{job_id}/plan")
async def plan_history(job_id: UUID, caller: CurrentCaller, commands: Commands) -> PlanHistory:
    """Every version of the plan, oldest first: the planner's drafts (``kind`` "draft"), the
    plan put up for approval ("ready") and people's edits ("edit"); ``current`` is the newest."""
    history = await commands.events(caller, job_id)
    versions = [PlanVersionView(**vars(v)) for v in plan_versions(history)]
    return PlanHistory(current=versions[-1].markdown if versions else "", versions=versions)


@router.get("/{job_id}/plan/diff", response_class=PlainTextResponse)
async def diff(
    job_id: UUID,
    caller: CurrentCaller,
    commands: Commands,
    from_: Annotated[int, Query(alias="from", ge=1, le=MAX_INT4)],
    to: Annotated[int, Query(ge=1, le=MAX_INT4)],
) -> str:
    """A unified diff from plan version ``from`` to version ``to``."""
    history = await commands.events(caller, job_id)
    try:
        return plan_diff(history, from_, to)
    except PlanVersionError as error:
        raise HTTPException(404, str(error)) from error
