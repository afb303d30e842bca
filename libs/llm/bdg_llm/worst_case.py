"""The most a chat call can cost, known before it is sent (the budget ledger reserves it).

Prompt tokens are counted with tiktoken (cl100k_base; a model of another encoding may differ by a
few percent, hence the margin); the answer is at most ``max_tokens``, else whatever the context
leaves, else ``DEFAULT_ANSWER_TOKENS``.
"""

from __future__ import annotations

import math

from bdg_llm import tokens
from bdg_llm.api import ChatRequest
from bdg_llm.prices import PriceTable

PROMPT_MARGIN = 1.10  # o200k and other encodings count a little differently from cl100k
DEFAULT_ANSWER_TOKENS = 16_384  # the largest answer of the common chat models


def answer_bound(request: ChatRequest, prompt_tokens: int, context_tokens: int | None) -> int:
    if request.max_tokens is not None:
        return request.max_tokens
    if context_tokens is not None:
        return max(context_tokens - prompt_tokens, 0)
    return DEFAULT_ANSWER_TOKENS


def worst_case_cost(
    prices: PriceTable, model: str, request: ChatRequest, context_tokens: int | None = None
) -> float:
    """USD the call costs at most (0 for a free or unknown model)."""
    price = prices.price(model)
    if price is None or (price.input_per_million == 0 and price.output_per_million == 0):
        return 0.0
    prompt = math.ceil(tokens.count_messages(request.messages) * PROMPT_MARGIN)
    return price.cost(prompt, answer_bound(request, prompt, context_tokens))
