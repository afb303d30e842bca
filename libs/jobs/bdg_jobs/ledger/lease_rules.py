"""Pure rules of leases: how big a share a process takes of the budget left, and what a grant,
a settle and a give-back do to the balances and to the lease's durable remaining share.

A lease is a reservation row (``bdg_budget_reservations``) that a process holds on a spender's
three accounts and serves many calls from. Its ``amount_usd`` is the share not yet spent: a
grant adds to it (and to the accounts' ``reserved``) after the same cap check a reservation gets,
a settle moves the call's cost out of it into ``spent``, a give-back returns it. So the accounts'
``spent + reserved`` counts every lease in full and a cap is never passed by grants, whichever
process holds them; what a process serves from its share is its own business (``leased``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from bdg_jobs.ledger.accounts import Spender, charged_accounts
from bdg_jobs.ledger.batch_rules import Account, Move, Running, apply_move
from bdg_jobs.ledger.errors import BudgetExhaustedError

# A grant takes at most this part of the headroom left under the tightest cap, so several
# processes (and jobs) near a cap each get a share instead of one holding all of it idle.
SHARE_OF_HEADROOM = Decimal(8)
# A grant is sized for this many calls like the one that asked, caps allowing.
CALLS_PER_GRANT = 32


@dataclass(frozen=True)
class LeaseKey:
    id: uuid.UUID
    spender: Spender
    period: str

    def accounts(self) -> list[Account]:
        return charged_accounts(self.spender, self.period)


@dataclass(frozen=True)
class Grant:
    """Add at least ``need`` to the lease (for a call of worst case ``asked``)."""

    lease: LeaseKey
    need: Decimal
    asked: Decimal


@dataclass(frozen=True)
class GiveBack:
    lease: LeaseKey
    amount: Decimal


def grant_size(
    balances: dict[Account, Running], lease: LeaseKey, need: Decimal, asked: Decimal
) -> Decimal | BudgetExhaustedError:
    """What a grant of at least ``need`` adds to the lease, or why no grant fits (nothing held)."""
    headroom: Decimal | None = None
    for key, period in lease.accounts():
        b = balances[(key, period)]
        if b.cap is None:
            continue
        left = b.cap - b.spent - b.reserved
        if left < need:
            return BudgetExhaustedError(key, period, b.cap, b.spent, asked)
        headroom = left if headroom is None else min(headroom, left)
    target = asked * CALLS_PER_GRANT
    if headroom is not None:
        target = min(target, headroom / SHARE_OF_HEADROOM)
    return max(need, target)


def apply_grant(
    balances: dict[Account, Running], remaining: dict[uuid.UUID, Decimal], op: Grant
) -> Decimal | BudgetExhaustedError:
    """Hold a grant on the lease's accounts; the lease's remaining share after it."""
    size = grant_size(balances, op.lease, op.need, op.asked)
    if isinstance(size, BudgetExhaustedError):
        return size
    for account in op.lease.accounts():
        balances[account].reserved += size
    remaining[op.lease.id] = remaining.get(op.lease.id, Decimal(0)) + size
    return remaining[op.lease.id]


def apply_spend(
    balances: dict[Account, Running],
    remaining: dict[uuid.UUID, Decimal],
    lease: LeaseKey,
    cost: Decimal,
) -> Decimal:
    """A call paid from the lease: its cost joins spent, out of the lease's share as far as the
    share goes (a lease already expired and released has none: the cost is spent all the same)."""
    left = remaining.get(lease.id, Decimal(0))
    release = min(cost, left)
    apply_move(balances, Move(tuple(lease.accounts()), release, cost))
    if lease.id in remaining:
        remaining[lease.id] = left - release
    return left - release


def apply_give_back(
    balances: dict[Account, Running], remaining: dict[uuid.UUID, Decimal], op: GiveBack
) -> Decimal:
    left = remaining.get(op.lease.id, Decimal(0))
    release = min(op.amount, left)
    apply_move(balances, Move(tuple(op.lease.accounts()), release, Decimal(0)))
    if op.lease.id in remaining:
        remaining[op.lease.id] = left - release
    return left - release
