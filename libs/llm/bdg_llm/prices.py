"""What a call costs: USD per million input and output tokens, per model.

Published list prices of the common OpenAI models (standard tier, uncached input). A dated
snapshot (``gpt-4o-mini-2024-07-18``) takes its family's price; local and unknown models cost 0.
Settings may add or override entries (``BDG_LLM_PRICES``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Price:
    input_per_million: float
    output_per_million: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.input_per_million + completion_tokens * self.output_per_million
        ) / 1_000_000


FREE = Price(0.0, 0.0)

LIST_PRICES: Mapping[str, Price] = MappingProxyType(
    {
        "gpt-5": Price(1.25, 10.00),
        "gpt-5-mini": Price(0.25, 2.00),
        "gpt-5-nano": Price(0.05, 0.40),
        "gpt-4.1": Price(2.00, 8.00),
        "gpt-4.1-mini": Price(0.40, 1.60),
        "gpt-4.1-nano": Price(0.10, 0.40),
        "gpt-4o": Price(2.50, 10.00),
        "gpt-4o-2024-05-13": Price(5.00, 15.00),
        "gpt-4o-mini": Price(0.15, 0.60),
        "o1": Price(15.00, 60.00),
        "o1-mini": Price(1.10, 4.40),
        "o3": Price(2.00, 8.00),
        "o3-mini": Price(1.10, 4.40),
        "o4-mini": Price(1.10, 4.40),
        "gpt-4-turbo": Price(10.00, 30.00),
        "gpt-4": Price(30.00, 60.00),
        "gpt-3.5-turbo": Price(0.50, 1.50),
        "text-embedding-3-small": Price(0.02, 0.0),
        "text-embedding-3-large": Price(0.13, 0.0),
        "text-embedding-ada-002": Price(0.10, 0.0),
    }
)


@dataclass(frozen=True)
class PriceTable:
    overrides: Mapping[str, Price] = field(default_factory=dict)

    def price(self, model: str) -> Price | None:
        """The model's price: exact name first, then the longest family ``name-...``; None if
        unknown."""
        table = {**LIST_PRICES, **self.overrides}
        if model in table:
            return table[model]
        families = [name for name in table if model.startswith(name + "-")]
        return table[max(families, key=len)] if families else None

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float:
        return (self.price(model) or FREE).cost(prompt_tokens, completion_tokens)
