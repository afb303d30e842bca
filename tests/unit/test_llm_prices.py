"""The price table: list prices per model family, overrides, and free local models."""

from __future__ import annotations

import pytest

from bdg_llm.prices import LIST_PRICES, Price, PriceTable
from bdg_llm.settings import LlmSettings

pytestmark = pytest.mark.timeout(10)
TABLE = PriceTable()


@pytest.mark.parametrize(
    ("model", "usd"),
    [
        ("gpt-4o-mini", 0.15 + 0.60),
        ("gpt-4o-mini-2024-07-18", 0.15 + 0.60),  # a dated snapshot: its family's price
        ("gpt-4o", 2.50 + 10.00),
        ("gpt-4o-2024-05-13", 5.00 + 15.00),  # an exact entry beats the family
        ("gpt-4.1-nano-2025-04-14", 0.10 + 0.40),
        ("gpt-4-0613", 30.00 + 60.00),
        ("o3-mini", 1.10 + 4.40),
        ("qwen2.5-coder-0.5b-instruct", 0.0),  # local models are free
        ("gpt-4oops", 0.0),  # a family matches at a dash only
    ],
)
def test_a_million_tokens_each_way(model: str, usd: float) -> None:
    assert TABLE.cost(model, 1_000_000, 1_000_000) == pytest.approx(usd)


def test_small_calls_cost_their_share() -> None:
    assert TABLE.cost("gpt-4o-mini", 1200, 300) == pytest.approx((1200 * 0.15 + 300 * 0.6) / 1e6)
    assert TABLE.cost("gpt-4o-mini", 0, 0) == 0.0


def test_unknown_models_have_no_price() -> None:
    assert TABLE.price("my-local-model") is None
    assert TABLE.price("gpt-4o") == LIST_PRICES["gpt-4o"]


def test_settings_add_and_override_prices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BDG_LLM_PRICES", '{"my-model": [1, 2], "gpt-4o-mini": [0, 0]}')
    table = LlmSettings().price_table()
    assert table.price("my-model") == Price(1.0, 2.0)
    assert table.cost("gpt-4o-mini-2024-07-18", 10**6, 10**6) == 0.0
    assert table.cost("gpt-4o", 10**6, 0) == 2.5
