"""One leased-ledger batch decided: grants, settles and give-backs applied in arrival order to
the balances and lease shares locked for the batch (``lease_rules``), and the settled calls'
rows gathered for ``bdg_budget_calls``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bdg_jobs.ledger.batch_rules import Account, Running
from bdg_jobs.ledger.errors import BudgetExhaustedError
from bdg_jobs.ledger.lease_rules import (
    GiveBack,
    Grant,
    LeaseKey,
    apply_give_back,
    apply_grant,
    apply_spend,
)
from bdg_jobs.ledger.ledger import SettledCall


@dataclass(frozen=True)
class Spend:
    """A call settled from the lease it was reserved from."""

    lease: LeaseKey
    reservation_id: uuid.UUID
    call: SettledCall


def decide(
    op: Grant | Spend | GiveBack,
    balances: dict[Account, Running],
    remaining: dict[uuid.UUID, Decimal],
    calls: list[dict[str, Any]],
) -> Decimal | BudgetExhaustedError:
    """Apply one op; the lease's remaining share after it (or why a grant was refused)."""
    if isinstance(op, Grant):
        return apply_grant(balances, remaining, op)
    if isinstance(op, GiveBack):
        return apply_give_back(balances, remaining, op)
    s, c = op.lease.spender, op.call
    calls.append(
        {
            "ids": op.reservation_id,
            "tenants": s.tenant,
            "users": s.user,
            "jobs": s.job_id,
            "operations": c.operation,
            "models": c.model,
            "prompts": c.prompt_tokens,
            "completions": c.completion_tokens,
            "costs": c.cost_usd,
            "counted": c.tokens_counted,
        }
    )
    return apply_spend(balances, remaining, op.lease, c.cost_usd)
