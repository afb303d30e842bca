"""A job's attempts: each coder/tester round with its tool calls, tokens, files, tests and review.

Projected from the job's history on every request (``bdg_jobs.attempts``), so they are as fresh
as the log; the same tenant scoping as every job route (another tenant's job is a 404).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, HTTPException, Path, Query

from bdg_contracts.attempts import Attempt
from bdg_contracts.numbers import MAX_INT4
from bdg_contracts.states import JobState
from bdg_gateway.deps import Commands, CurrentCaller
from bdg_gateway.strict_json import StrictJsonRoute
from bdg_gateway.views import View
from bdg_jobs.attempts import AttemptNotFoundError, attempt_of, attempts_of
from bdg_jobs.domain import Job

router = APIRouter(prefix="/jobs", tags=["attempts"], route_class=StrictJsonRoute)

WithPatches = Annotated[
    bool, Query(alias="patch", description="include each change's unified diff (can be large)")
]


class JobAttempts(View):
    job_id: UUID
    state: JobState
    max_attempts: int
    attempts: list[Attempt]


def _shown(attempt: Attempt, patches: bool) -> Attempt:
    return attempt if patches else attempt.without_patches()


@router.get("/{job_id}/attempts")
async def list_attempts(
    job_id: UUID, caller: CurrentCaller, commands: Commands, patches: WithPatches = True
) -> JobAttempts:
    """Every attempt, first to last, and where the job is now."""
    history = await commands.events(caller, job_id)
    job = Job.replay(history)
    return JobAttempts(
        job_id=job.job_id,
        state=job.state,
        max_attempts=job.max_attempts,
        attempts=[_shown(a, patches) for a in attempts_of(history)],
    )


@router.get("/{job_id}/attempts/{number}", responses={404: {"description": "no such attempt"}})
async def get_attempt(
    job_id: UUID,
    number: Annotated[int, Path(ge=1, le=MAX_INT4)],
    caller: CurrentCaller,
    commands: Commands,
    patches: WithPatches = True,
) -> Attempt:
    """One attempt (1 = the first after the plan was approved)."""
    history = await commands.events(caller, job_id)
    try:
        return _shown(attempt_of(history, number), patches)
    except AttemptNotFoundError as error:
        raise HTTPException(404, str(error)) from error
