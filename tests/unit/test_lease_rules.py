"""Lease rules alone: a grant's size under the caps, and what settles and give-backs release."""

from __future__ import annotations

import uuid
from decimal import Decimal

from bdg_jobs.ledger.accounts import Spender, charged_accounts
from bdg_jobs.ledger.batch_rules import Account, Running
from bdg_jobs.ledger.errors import BudgetExhaustedError
from bdg_jobs.ledger.lease_rules import (
    CALLS_PER_GRANT,
    SHARE_OF_HEADROOM,
    GiveBack,
    Grant,
    LeaseKey,
    apply_give_back,
    apply_grant,
    apply_spend,
)

MONTH = "2026-12"
LEASE = LeaseKey(uuid.uuid4(), Spender("acme", "ann", "j1"), MONTH)
TENANT = ("tenant:acme", MONTH)


def balances(tenant_cap: str | None, spent: str = "0") -> dict[Account, Running]:
    cap = Decimal(tenant_cap) if tenant_cap is not None else None
    return {
        a: Running(
            Decimal(spent) if a == TENANT else Decimal(0), Decimal(0), cap if a == TENANT else None
        )
        for a in charged_accounts(LEASE.spender, MONTH)
    }


def grant(need: str, asked: str) -> Grant:
    return Grant(LEASE, Decimal(need), Decimal(asked))


def test_with_no_cap_a_grant_is_sized_for_many_calls() -> None:
    b, remaining = balances(None), {}
    assert apply_grant(b, remaining, grant("0.01", "0.01")) == Decimal("0.01") * CALLS_PER_GRANT
    assert all(r.reserved == Decimal("0.32") for r in b.values())
    assert remaining == {LEASE.id: Decimal("0.32")}


def test_near_a_cap_a_grant_takes_a_share_of_the_headroom_but_never_less_than_the_need() -> None:
    b = balances("10.00", spent="2.00")
    assert apply_grant(b, {}, grant("0.50", "0.50")) == Decimal("8.00") / SHARE_OF_HEADROOM
    small = balances("1.00", spent="0.70")
    assert apply_grant(small, {}, grant("0.25", "0.25")) == Decimal("0.25")


def test_a_grant_past_a_cap_is_refused_and_holds_nothing() -> None:
    b, remaining = balances("1.00", spent="0.90"), {}
    refused = apply_grant(b, remaining, grant("0.20", "0.30"))
    assert isinstance(refused, BudgetExhaustedError)
    assert (refused.key, refused.spent, refused.wanted) == (
        "tenant:acme",
        Decimal("0.90"),
        Decimal("0.30"),
    )
    assert all(r.reserved == 0 for r in b.values())
    assert remaining == {}


def test_a_grant_adds_to_what_the_lease_has_left() -> None:
    b, remaining = balances(None), {LEASE.id: Decimal("0.05")}
    assert apply_grant(b, remaining, grant("0.01", "0.01")) == Decimal("0.37")


def test_a_spend_moves_its_cost_from_the_lease_into_spent() -> None:
    b, remaining = balances(None), {LEASE.id: Decimal("0.50")}
    for r in b.values():
        r.reserved = Decimal("0.50")
    assert apply_spend(b, remaining, LEASE, Decimal("0.20")) == Decimal("0.30")
    assert all(
        (r.spent, r.reserved) == (Decimal("0.20"), Decimal("0.30"))
        for r in b.values()
        if r.cap is None
    )
    assert b[TENANT].spent + b[TENANT].reserved == Decimal("0.50")


def test_a_spend_past_the_lease_or_on_a_lease_gone_releases_only_what_there_is() -> None:
    b, remaining = balances(None), {LEASE.id: Decimal("0.10")}
    for r in b.values():
        r.reserved = Decimal("0.10")
    assert apply_spend(b, remaining, LEASE, Decimal("0.25")) == 0
    assert all((r.spent, r.reserved) == (Decimal("0.25"), 0) for r in b.values())
    gone: dict[uuid.UUID, Decimal] = {}
    assert apply_spend(b, gone, LEASE, Decimal("0.05")) == 0
    assert gone == {}  # no row is made for a lease given back already
    assert all((r.spent, r.reserved) == (Decimal("0.30"), 0) for r in b.values())


def test_a_give_back_releases_at_most_what_the_lease_has() -> None:
    b, remaining = balances(None), {LEASE.id: Decimal("0.40")}
    for r in b.values():
        r.reserved = Decimal("0.40")
    assert apply_give_back(b, remaining, GiveBack(LEASE, Decimal("0.15"))) == Decimal("0.25")
    assert apply_give_back(b, remaining, GiveBack(LEASE, Decimal("1.00"))) == 0
    assert all((r.spent, r.reserved) == (0, 0) for r in b.values())
