"""How the coder makes an attempt's change (pure): the tool loop (the model reads, edits and
tests through tools, turn by turn), the pipeline (localize -> one schema-bound answer of
edits -> validate) or the pipeline's whole-symbol format (``rewrite``: localize -> one complete
definition per answer, the symbol chosen by us -> one new test -> validate), and which one
``auto`` picks for a model.

``auto`` picks the whole-symbol pipeline for the bundled offline models (Qwen2.5-Coder 0.5B and
1.5B, named as the local server announces them): on the agent bench they loop, repeat calls and
lose code in a long conversation, and fill the edits' fields with the wrong kind of thing (on
dev the 0.5B solved 2 of 12 tasks with ``rewrite``, none with ``pipeline``); a capable model gets
the loop.
"""

from __future__ import annotations

import enum

from bdg_llm.local_model import MODELS


class Strategy(enum.StrEnum):
    loop = "loop"
    pipeline = "pipeline"
    rewrite = "rewrite"  # the pipeline asking for one whole definition per answer
    auto = "auto"


SMALL_MODELS = frozenset(spec.name for spec in MODELS.values())


def resolve(strategy: Strategy, model: str) -> Strategy:
    """The strategy for ``model``: ``auto`` made concrete, the others as they are."""
    if strategy is not Strategy.auto:
        return strategy
    return Strategy.rewrite if model in SMALL_MODELS else Strategy.loop
