"""Search hits as a markdown block for a prompt (planner, coder), within a token budget.

Each hit becomes a header ``path:start-end (score)`` and a fenced block in its language. The
budget counts the whole rendered block (headers and fences too, with the cl100k count the rest
of the prompt uses); hits are taken in order, and one that no longer fits is passed over.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bdg_indexer.ranking import SearchHit
from bdg_llm.tokens import count_text

_BACKTICKS = re.compile(r"`{3,}")


def fence_for(text: str) -> str:
    """A fence longer than any run of backticks in ``text``, so the block cannot end early."""
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=2)
    return "`" * (longest + 1)


def render_hit(hit: SearchHit) -> str:
    fence = fence_for(hit.snippet)
    body = hit.snippet if hit.snippet.endswith("\n") else hit.snippet + "\n"
    header = f"{hit.path}:{hit.start_line}-{hit.end_line} ({hit.score:.3f})"
    return f"{header}\n{fence}{hit.language}\n{body}{fence}\n"


def render_context(hits: Sequence[SearchHit], token_budget: int = 2000) -> str:
    """The hits that fit, in their order, separated by blank lines; "" when none fits."""
    blocks: list[str] = []
    used = 0
    for hit in hits:
        block = render_hit(hit)
        cost = count_text(block) + (1 if blocks else 0)  # + the blank line between blocks
        if used + cost <= token_budget:
            blocks.append(block)
            used += cost
    return "\n".join(blocks)
