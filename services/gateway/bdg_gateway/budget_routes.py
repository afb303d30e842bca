"""Budget caps per user and tenant (a tenant admin sets them) and what has been spent.

A cap holds for every calendar month (UTC). Raising one re-drives the tenant's jobs suspended
for budget (``suspended_budget``): their step runs again and is refused again only if the cap
still does not allow it. A cap at or below what was spent suspends the jobs it covers at once
(a step in flight is then dropped, and runs again on the raise). A job's own cap is
``POST /jobs/{id}/budget``.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel

from bdg_contracts import commands as cmd
from bdg_contracts.base import Contract
from bdg_contracts.numbers import Amount
from bdg_contracts.states import ACTIVE_STATES, JobState
from bdg_gateway.deps import Commands, CurrentCaller, Queries
from bdg_gateway.queries import JobQueries
from bdg_gateway.strict_json import StrictJsonRoute
from bdg_jobs.errors import DomainError
from bdg_jobs.ledger.accounts import Scope, cap_key, month_of
from bdg_jobs.ledger.caps import BudgetCaps, Usage
from bdg_jobs.ledger.ledger import usd
from bdg_jobs.user_commands import Caller, JobCommands

router = APIRouter(prefix="/budgets", tags=["budgets"], route_class=StrictJsonRoute)
UserName = Annotated[str, Path(min_length=1, max_length=200)]

_IN_STATES = """
    SELECT "jobId" FROM agent_config
    WHERE tenant = %(tenant)s AND state = ANY(%(states)s)
      AND (%(user)s::text IS NULL OR "user" = %(user)s)
"""


class SetCap(Contract):
    cap_usd: Annotated[float, Amount(ge=0)]


class UsageView(BaseModel):
    scope: Scope
    subject: str
    period: str
    cap_usd: float | None
    spent_usd: float
    reserved_usd: float

    @classmethod
    def of(cls, u: Usage) -> UsageView:
        cap = None if u.cap_usd is None else float(u.cap_usd)
        return cls(
            scope=u.scope,
            subject=u.subject,
            period=u.period,
            cap_usd=cap,
            spent_usd=float(u.spent_usd),
            reserved_usd=float(u.reserved_usd),
        )


class BudgetsView(BaseModel):
    tenant: UsageView
    user: UsageView


def _month() -> str:
    return month_of(datetime.now(UTC))


def _admin_only(caller: Caller) -> None:
    if not caller.admin:
        raise HTTPException(
            403, 'setting a budget cap needs a tenant admin (token claim roles: ["admin"])'
        )


@router.get("")
async def budgets(caller: CurrentCaller, queries: Queries) -> BudgetsView:
    """This month's cap, spend and reservations of the caller's tenant and of the caller."""
    caps, month = BudgetCaps(queries.pool), _month()
    tenant = await caps.usage(Scope.tenant, caller.tenant_id, "", month)
    user = await caps.usage(Scope.user, caller.tenant_id, caller.user_id, month)
    return BudgetsView(tenant=UsageView.of(tenant), user=UsageView.of(user))


@router.put("/tenant")
async def set_tenant_cap(
    body: SetCap, caller: CurrentCaller, queries: Queries, commands: Commands
) -> UsageView:
    """The tenant's monthly cap (admin)."""
    return await _set(caller, queries, commands, Scope.tenant, "", body)


@router.put("/users/{user}")
async def set_user_cap(
    user: UserName, body: SetCap, caller: CurrentCaller, queries: Queries, commands: Commands
) -> UsageView:
    """One user's monthly cap within the tenant (admin)."""
    return await _set(caller, queries, commands, Scope.user, user, body)


async def _set(
    caller: Caller,
    queries: JobQueries,
    commands: JobCommands,
    scope: Scope,
    subject: str,
    body: SetCap,
) -> UsageView:
    _admin_only(caller)
    caps = BudgetCaps(queries.pool)
    await caps.set_cap(scope, caller.tenant_id, subject, usd(body.cap_usd))
    month = _month()
    usage = await caps.usage(scope, caller.tenant_id, subject, month)
    key = cap_key(scope, caller.tenant_id, subject)
    user = subject or None
    if usage.spent_usd < usd(body.cap_usd):
        for job_id in await _jobs_in(queries, caller, user, [JobState.suspended_budget]):
            await commands.raise_budget(caller, job_id, cmd.RaiseBudget(limit_usd=body.cap_usd))
    else:
        spent = float(usage.spent_usd)
        for job_id in await _jobs_in(queries, caller, user, sorted(ACTIVE_STATES)):
            with contextlib.suppress(DomainError):  # it moved on meanwhile
                await commands.app.execute(
                    job_id,
                    lambda j: j.exceed_budget(
                        caller.cause(commands.app), body.cap_usd, spent, key, month
                    ),
                )
    return UsageView.of(usage)


async def _jobs_in(
    queries: JobQueries, caller: Caller, user: str | None, states: list[JobState]
) -> list[UUID]:
    args = {"tenant": caller.tenant_id, "user": user, "states": [s.value for s in states]}
    async with queries.pool.connection() as conn:
        cur = await conn.execute(_IN_STATES, args)
        return [UUID(str(row[0])) for row in await cur.fetchall()]
