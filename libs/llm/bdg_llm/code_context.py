"""Code found by the indexer, rendered into a prompt block (used by the planner and the coder).

Each hit as ``path:start-end`` and a fenced block in its language, in rank order, while the
running token count stays within the budget; a fence longer than any backtick run inside the
snippet, so code never closes the block early.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bdg_contracts.tool_events import CodeHit
from bdg_llm.tokens import count_text

_TICKS = re.compile(r"`{3,}")


def _fence(text: str) -> str:
    longest = max((len(m.group()) for m in _TICKS.finditer(text)), default=2)
    return "`" * max(3, longest + 1)


def render_hit(hit: CodeHit) -> str:
    fence = _fence(hit.snippet)
    where = f"{hit.repo}:" if hit.repo else ""
    return (
        f"{where}{hit.path}:{hit.start_line}-{hit.end_line} (score {hit.score:.2f})\n"
        f"{fence}{hit.language}\n{hit.snippet}\n{fence}"
    )


def render_code_context(hits: Sequence[CodeHit], token_budget: int = 2_000) -> str:
    """The hits that fit ``token_budget`` (counted on the rendered text), best first."""
    blocks: list[str] = []
    used = 0
    for hit in hits:
        block = render_hit(hit)
        cost = count_text(block) + 1
        if used + cost > token_budget:
            continue  # a shorter hit further down may still fit
        blocks.append(block)
        used += cost
    return "\n\n".join(blocks)
