"""The ledger's pure rules: worst-case cost of a call, accounts charged and their lock order."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bdg_jobs.ledger.accounts import Balance, Scope, Spender, cap_key, charged_accounts
from bdg_llm.api import ChatRequest, Message
from bdg_llm.prices import PriceTable
from bdg_llm.tokens import count_messages
from bdg_llm.worst_case import DEFAULT_ANSWER_TOKENS, answer_bound, worst_case_cost

ASK = ChatRequest("coder", (Message("user", "Fix the failing test in calc.py, please."),))


def test_the_answer_is_bounded_by_max_tokens_else_the_context_else_a_default() -> None:
    capped = ChatRequest("coder", ASK.messages, max_tokens=300)
    assert answer_bound(capped, 50, 4096) == 300
    assert answer_bound(ASK, 50, 4096) == 4046
    assert answer_bound(ASK, 5000, 4096) == 0
    assert answer_bound(ASK, 50, None) == DEFAULT_ANSWER_TOKENS


def test_the_worst_case_is_the_counted_prompt_with_margin_plus_the_whole_answer() -> None:
    capped = ChatRequest("coder", ASK.messages, max_tokens=1000)
    prompt = count_messages(ASK.messages)
    worst = worst_case_cost(PriceTable(), "gpt-4o", capped)
    # gpt-4o: $2.50 / 1M input, $10 / 1M output
    assert worst >= (prompt * 2.5 + 1000 * 10) / 1e6
    assert worst <= (prompt * 1.1 * 2.5 + 2.5 + 1000 * 10) / 1e6


@pytest.mark.parametrize("model", ["qwen2.5-coder-0.5b-instruct", "no-such-model"])
def test_a_free_or_unknown_model_reserves_nothing(model: str) -> None:
    assert worst_case_cost(PriceTable(), model, ASK) == 0.0


def test_a_call_is_charged_to_its_job_user_month_and_tenant_month_in_one_order() -> None:
    accounts = charged_accounts(Spender("acme", "ann", "j1"), "2026-12")
    assert accounts == [
        ("job:acme:j1", ""),
        ("tenant:acme", "2026-12"),
        ("user:acme:ann", "2026-12"),
    ]
    assert accounts == sorted(accounts)


def test_every_key_names_its_tenant() -> None:
    keys = [cap_key(scope, "acme", "x") for scope in Scope]
    assert all(":acme" in key for key in keys)
    assert cap_key(Scope.job, "acme", "x") != cap_key(Scope.job, "globex", "x")


def test_a_balance_allows_up_to_its_cap_exactly() -> None:
    at = Balance("tenant:acme", "2026-12", Decimal("0.6"), Decimal("0.3"), Decimal("1.0"))
    assert at.allows(Decimal("0.1"))
    assert not at.allows(Decimal("0.1000001"))
    assert Balance("k", "", Decimal(5), Decimal(5), None).allows(Decimal(100))
