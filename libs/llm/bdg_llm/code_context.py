"""Code found by the indexer as a markdown block for a prompt (the planner's, the coder's).

Each hit becomes a header ``path:start-end (score)`` and a fenced block in its language; the
fence is longer than any run of backticks in the code, so the block cannot end early. The budget
counts the whole rendered block (headers and fences too, with the cl100k count the rest of the
prompt uses); hits are taken in rank order, and one that no longer fits is passed over, so one
oversized hit at the top does not leave the prompt without code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bdg_contracts.tool_events import CodeHit
from bdg_llm.tokens import count_text

_BACKTICKS = re.compile(r"`{3,}")


def fence_for(text: str) -> str:
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=2)
    return "`" * (longest + 1)


def render_hit(hit: CodeHit) -> str:
    fence = fence_for(hit.snippet)
    body = hit.snippet if hit.snippet.endswith("\n") else hit.snippet + "\n"
    header = f"{hit.path}:{hit.start_line}-{hit.end_line} ({hit.score:.3f})"
    return f"{header}\n{fence}{hit.language}\n{body}{fence}\n"


def render_code_context(hits: Sequence[CodeHit], token_budget: int = 2_000) -> str:
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
