"""Pure rules of one ledger batch: reserves, settles and releases applied in arrival order to the
balances locked for the batch, each reserve checked against every cap as the batch left it.

The same rules one statement per call applied (``spent + reserved + amount <= cap`` on each of
the call's accounts, or nothing held), decided here for many calls under one set of row locks.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from bdg_jobs.ledger.accounts import Balance, Spender, charged_accounts
from bdg_jobs.ledger.errors import BudgetExhaustedError

Account = tuple[str, str]  # (key, period)


@dataclass
class Running:
    """An account's balance as the batch goes."""

    spent: Decimal
    reserved: Decimal
    cap: Decimal | None


@dataclass(frozen=True)
class Reserve:
    id: uuid.UUID
    spender: Spender
    period: str
    amount: Decimal

    def accounts(self) -> list[Account]:
        return charged_accounts(self.spender, self.period)


@dataclass(frozen=True)
class Move:
    """A settle (``spend`` > 0 or not) or a release (``spend`` is 0): ``release`` leaves reserved,
    ``spend`` joins spent, on ``accounts``. ``release`` is 0 when the reservation was gone."""

    accounts: tuple[Account, ...]
    release: Decimal
    spend: Decimal


def apply_reserve(balances: dict[Account, Running], op: Reserve) -> BudgetExhaustedError | None:
    """Hold ``op.amount`` on its accounts, or return why not (nothing held)."""
    mine = [(a, balances[a]) for a in op.accounts()]
    for (key, period), b in mine:
        if b.cap is not None and b.spent + b.reserved + op.amount > b.cap:
            return BudgetExhaustedError(key, period, b.cap, b.spent, op.amount)
    for _, b in mine:
        b.reserved += op.amount
    return None


def apply_move(balances: dict[Account, Running], op: Move) -> None:
    for account in op.accounts:
        b = balances[account]
        b.reserved -= op.release
        b.spent += op.spend


def running_of(balance: Balance) -> Running:
    return Running(Decimal(balance.spent), Decimal(balance.reserved), balance.cap)
