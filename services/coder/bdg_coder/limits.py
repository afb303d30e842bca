"""The coder's limits from the served model's context size: pure.

The defaults (LoopLimits: 25 steps, 60,000 characters of conversation, 8,000 per tool result)
are for large models (32k tokens of context and more). A smaller context gets proportionally
less: at about 3.5 characters per token, half the window for the conversation (the other half
for the system prompt and the answer), a tool result at most a quarter of that, and fewer steps,
since each step's turn takes room the next one needs. 4096 tokens (the offline model): 6 steps,
7,168 characters of conversation, 2,048 per result.

The pipeline strategies keep no conversation (each call is a prompt of its own), so their steps
are not scaled down: at 6, the 1.5B's three-definition refactor spent its calls on the
definitions and their retries, and its last definition and its test were never asked for (agent
bench, session 24). Their calls are bounded by their own shape, and the token budget by cost.
"""

from __future__ import annotations

from bdg_coder.loop_decisions import LoopLimits

LARGE_CONTEXT_TOKENS = 32_768
CHARS_PER_TOKEN = 3.5
MIN_STEPS = 6


DEFAULTS = LoopLimits()


def limits_for_context(
    context_tokens: int | None, base: LoopLimits = DEFAULTS, conversation: bool = True
) -> LoopLimits:
    """``base`` as it is for a large or unknown context; scaled down for a smaller one (the
    steps only for a run whose turns share one ``conversation``)."""
    if context_tokens is None or context_tokens >= LARGE_CONTEXT_TOKENS:
        return base
    context_chars = min(base.context_chars, int(context_tokens * CHARS_PER_TOKEN / 2))
    steps = max(MIN_STEPS, base.max_steps * context_tokens // LARGE_CONTEXT_TOKENS)
    return LoopLimits(
        max_steps=min(base.max_steps, steps) if conversation else base.max_steps,
        token_budget=base.token_budget,
        result_chars=min(base.result_chars, int(context_chars / CHARS_PER_TOKEN)),
        context_chars=context_chars,
    )
