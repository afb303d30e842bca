"""Pure rules of the ledger: which accounts a call is charged to, and whether a cap allows it.

A call is charged to three accounts at once: its job's (one period, the job's life), its user's
and its tenant's (one period per calendar month, UTC). A cap is set on an account's key and
holds for every period of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

JOB_PERIOD = ""


class Scope(StrEnum):
    job = "job"
    user = "user"
    tenant = "tenant"


@dataclass(frozen=True)
class Spender:
    """Who a model call is paid by."""

    tenant: str
    user: str
    job_id: str


def month_of(moment: datetime) -> str:
    return moment.strftime("%Y-%m")


def cap_key(scope: Scope, tenant: str, subject: str = "") -> str:
    """The key a cap is set on: a job or a user of the tenant, or the tenant itself (the
    tenant is in every key, so no caller can reach another tenant's account)."""
    if scope is Scope.job:
        return f"job:{tenant}:{subject}"
    if scope is Scope.user:
        return f"user:{tenant}:{subject}"
    return f"tenant:{tenant}"


def charged_accounts(spender: Spender, month: str) -> list[tuple[str, str]]:
    """(key, period) of every account a call of ``spender`` is charged to, in lock order:
    every transaction locks accounts in this one order, so two never wait on each other."""
    return sorted(
        [
            (cap_key(Scope.job, spender.tenant, spender.job_id), JOB_PERIOD),
            (cap_key(Scope.user, spender.tenant, spender.user), month),
            (cap_key(Scope.tenant, spender.tenant), month),
        ]
    )


@dataclass(frozen=True)
class Balance:
    key: str
    period: str
    spent: Decimal
    reserved: Decimal
    cap: Decimal | None

    def allows(self, amount: Decimal) -> bool:
        return self.cap is None or self.spent + self.reserved + amount <= self.cap


def scope_of(key: str) -> Scope:
    return Scope(key.split(":", 1)[0])
