"""REST routes: one per user command, plus reads. Every write goes through ``JobCommands``.

A command answers with the job as of the last event it appended.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Query, Response

from bdg_contracts import commands as cmd
from bdg_contracts.numbers import MAX_INT4, MAX_OFFSET
from bdg_gateway.deps import Commands, CurrentCaller, Queries
from bdg_gateway.strict_json import StrictJsonRoute
from bdg_gateway.views import EventView, JobPage, JobView
from bdg_jobs.ledger.accounts import Scope
from bdg_jobs.ledger.caps import BudgetCaps
from bdg_jobs.ledger.ledger import usd
from bdg_jobs.store import Recorded
from bdg_jobs.user_commands import Caller, JobCommands

router = APIRouter(prefix="/jobs", tags=["jobs"], route_class=StrictJsonRoute)
JobId = UUID


async def _after(
    commands: JobCommands, caller: Caller, job_id: UUID, recorded: list[Recorded]
) -> JobView:
    at = recorded[-1].event.version if recorded else None
    return JobView.of(await commands.get(caller, job_id, at))


@router.post("", status_code=201)
async def request_job(
    body: cmd.RequestJob, caller: CurrentCaller, commands: Commands, response: Response
) -> JobView:
    job = await commands.create(caller, body, publish_in_background=True)
    response.headers["Location"] = f"/jobs/{job.job_id}"
    return JobView.of(job)


@router.post("/{job_id}/fork", status_code=201)
async def fork_job(
    job_id: JobId, body: cmd.ForkJob, caller: CurrentCaller, commands: Commands, response: Response
) -> JobView:
    """A new job from the first ``at_version`` events of this one, with other models."""
    job = await commands.fork(caller, job_id, body)
    response.headers["Location"] = f"/jobs/{job.job_id}"
    return JobView.of(job)


@router.get("")
async def list_jobs(
    caller: CurrentCaller,
    queries: Queries,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> JobPage:
    """The caller's tenant's jobs, newest first, from the ``agent_config`` read model."""
    items = await queries.list_jobs(caller.tenant_id, limit, offset)
    return JobPage(items=items, limit=limit, offset=offset)


@router.get("/{job_id}")
async def get_job(
    job_id: JobId,
    caller: CurrentCaller,
    commands: Commands,
    at_version: Annotated[int | None, Query(ge=1, le=MAX_INT4)] = None,
) -> JobView:
    """The job now, or as it was after event ``at_version``."""
    return JobView.of(await commands.get(caller, job_id, at_version))


@router.get("/{job_id}/events")
async def job_events(
    job_id: JobId,
    caller: CurrentCaller,
    commands: Commands,
    after: Annotated[int, Query(ge=0, le=MAX_INT4)] = 0,
) -> list[EventView]:
    return [EventView.of(e) for e in await commands.events(caller, job_id, after)]


@router.post("/{job_id}/plan")
async def edit_plan(
    job_id: JobId, body: cmd.EditPlan, caller: CurrentCaller, commands: Commands
) -> JobView:
    return await _after(commands, caller, job_id, await commands.edit_plan(caller, job_id, body))


@router.post("/{job_id}/plan/approve")
async def approve_plan(job_id: JobId, caller: CurrentCaller, commands: Commands) -> JobView:
    return await _after(commands, caller, job_id, await commands.approve_plan(caller, job_id))


@router.post("/{job_id}/deploy/approve")
async def approve_deploy(
    job_id: JobId,
    caller: CurrentCaller,
    commands: Commands,
    body: Annotated[cmd.ApproveDeploy | None, Body()] = None,
) -> JobView:
    """Approve the deploy whose ``deploy_digest`` the caller reviewed: another digest is a 409
    naming both, and nothing is approved or published. Without one (clients from before
    digests), the digest the job asks for is approved: it cannot change while the job waits."""
    digest = body.digest if body else None
    recorded = await commands.approve_deploy(caller, job_id, digest)
    return await _after(commands, caller, job_id, recorded)


@router.post("/{job_id}/pause")
async def pause(
    job_id: JobId,
    caller: CurrentCaller,
    commands: Commands,
    body: Annotated[cmd.PauseJob | None, Body()] = None,
) -> JobView:
    recorded = await commands.pause(caller, job_id, body or cmd.PauseJob())
    return await _after(commands, caller, job_id, recorded)


@router.post("/{job_id}/resume")
async def resume(job_id: JobId, caller: CurrentCaller, commands: Commands) -> JobView:
    return await _after(commands, caller, job_id, await commands.resume(caller, job_id))


@router.post("/{job_id}/cancel")
async def cancel(
    job_id: JobId,
    caller: CurrentCaller,
    commands: Commands,
    body: Annotated[cmd.CancelJob | None, Body()] = None,
) -> JobView:
    recorded = await commands.cancel(caller, job_id, body or cmd.CancelJob())
    return await _after(commands, caller, job_id, recorded)


@router.post("/{job_id}/retry")
async def retry(job_id: JobId, caller: CurrentCaller, commands: Commands) -> JobView:
    """Send a failed step back to its service."""
    return await _after(commands, caller, job_id, await commands.retry(caller, job_id))


@router.post("/{job_id}/rollback")
async def rollback(
    job_id: JobId, body: cmd.RequestRollback, caller: CurrentCaller, commands: Commands
) -> JobView:
    recorded = await commands.request_rollback(caller, job_id, body)
    return await _after(commands, caller, job_id, recorded)


@router.post("/{job_id}/budget")
async def raise_budget(
    job_id: JobId,
    body: cmd.RaiseBudget,
    caller: CurrentCaller,
    commands: Commands,
    queries: Queries,
) -> JobView:
    """Raise the job's cost cap; a job suspended for budget resumes."""
    await commands.get(caller, job_id)  # another tenant's job: 404 before anything is written
    await BudgetCaps(queries.pool).set_cap(
        Scope.job, caller.tenant_id, str(job_id), usd(body.limit_usd)
    )
    recorded = await commands.raise_budget(caller, job_id, body)
    return await _after(commands, caller, job_id, recorded)
