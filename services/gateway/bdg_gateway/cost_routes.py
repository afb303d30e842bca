"""``GET /costs``: the caller's tenant's model spend by operation, user, day or job; of one job
with ``job=`` (another tenant's job is a 404, as on every job route)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from bdg_gateway.days import Day
from bdg_gateway.deps import Commands, CurrentCaller, Queries
from bdg_gateway.strict_json import StrictJsonRoute
from bdg_jobs.ledger.costs import CostRow, GroupBy, costs

router = APIRouter(tags=["budgets"], route_class=StrictJsonRoute)


class CostRowView(BaseModel):
    key: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    counted_calls: int = Field(description="calls with no usage from the endpoint: counted here")

    @classmethod
    def of(cls, r: CostRow) -> CostRowView:
        return cls(
            key=r.key,
            calls=r.calls,
            prompt_tokens=r.prompt_tokens,
            completion_tokens=r.completion_tokens,
            cost_usd=float(r.cost_usd),
            counted_calls=r.counted_calls,
        )


class CostsView(BaseModel):
    group_by: GroupBy
    rows: list[CostRowView]
    total_usd: float


@router.get("/costs", responses={404: {"description": "no such job of the tenant (job=)"}})
async def get_costs(
    caller: CurrentCaller,
    queries: Queries,
    commands: Commands,
    group_by: GroupBy = GroupBy.operation,
    first: Annotated[Day | None, Query(alias="from", description="first day (UTC)")] = None,
    last: Annotated[Day | None, Query(alias="to", description="last day, included")] = None,
    job: Annotated[UUID | None, Query(description="only this job's calls")] = None,
) -> CostsView:
    """Settled model calls of the tenant, grouped; ``from``/``to`` are days, both included."""
    if first is not None and last is not None and first > last:
        raise HTTPException(422, f"query.from: {first} is after to ({last})")
    if job is not None:
        await commands.get(caller, job)  # 404 unless the caller's tenant's job
    async with queries.pool.connection() as conn:
        rows = await costs(conn, caller.tenant_id, group_by, first, last, str(job) if job else None)
    total = float(sum((r.cost_usd for r in rows), start=0))
    return CostsView(group_by=group_by, rows=[CostRowView.of(r) for r in rows], total_usd=total)
