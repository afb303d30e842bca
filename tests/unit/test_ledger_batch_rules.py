"""The ledger's batch rules alone: calls of one batch decided in order, each against the
balances the calls before it left."""

from __future__ import annotations

import uuid
from decimal import Decimal

from bdg_jobs.ledger.accounts import Spender, charged_accounts
from bdg_jobs.ledger.batch_rules import Account, Move, Reserve, Running, apply_move, apply_reserve

ANN = Spender("acme", "ann", "j1")
BOB = Spender("acme", "bob", "j2")
MONTH = "2026-12"


def balances(tenant_cap: str | None) -> dict[Account, Running]:
    cap = Decimal(tenant_cap) if tenant_cap is not None else None
    out = {}
    for who in (ANN, BOB):
        for key, period in charged_accounts(who, MONTH):
            out[(key, period)] = Running(
                Decimal(0), Decimal(0), cap if key == "tenant:acme" else None
            )
    return out


def reserve(who: Spender, amount: str) -> Reserve:
    return Reserve(uuid.uuid4(), who, MONTH, Decimal(amount))


def test_a_reserve_is_refused_when_an_earlier_one_in_the_batch_took_the_headroom() -> None:
    b = balances("1.00")
    assert apply_reserve(b, reserve(ANN, "0.60")) is None
    refused = apply_reserve(b, reserve(BOB, "0.50"))
    assert refused is not None
    assert (refused.key, refused.cap, refused.wanted) == (
        "tenant:acme",
        Decimal("1.00"),
        Decimal("0.50"),
    )
    assert b[("tenant:acme", MONTH)].reserved == Decimal("0.60")  # the refused one held nothing
    assert b[("user:acme:bob", MONTH)].reserved == Decimal(0)


def test_a_settle_frees_headroom_for_a_later_reserve_of_the_same_batch() -> None:
    b = balances("1.00")
    first = reserve(ANN, "0.80")
    assert apply_reserve(b, first) is None
    apply_move(b, Move(tuple(first.accounts()), Decimal("0.80"), Decimal("0.30")))
    assert apply_reserve(b, reserve(BOB, "0.70")) is None
    tenant = b[("tenant:acme", MONTH)]
    assert (tenant.spent, tenant.reserved) == (Decimal("0.30"), Decimal("0.70"))


def test_a_settle_of_an_expired_reservation_only_adds_to_spent() -> None:
    b = balances(None)
    gone = reserve(ANN, "0.40")
    apply_move(b, Move(tuple(gone.accounts()), Decimal(0), Decimal("0.25")))
    job = b[("job:acme:j1", "")]
    assert (job.spent, job.reserved) == (Decimal("0.25"), Decimal(0))
