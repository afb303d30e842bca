"""How many terms the full-text side's unrolled ranking writes out for a question
(text_search.unrolled_slots): enough for all of them, in a few steps."""

from __future__ import annotations

from bdg_indexer.search.fulltext import MAX_TERMS
from bdg_indexer.search.text_search import SLOT_STEP, unrolled_slots


def test_every_term_has_a_slot_and_few_queries_serve_all_counts() -> None:
    for n in range(1, MAX_TERMS + 1):
        slots = unrolled_slots(n)
        assert n <= slots <= MAX_TERMS
        assert slots - n < SLOT_STEP
    assert len({unrolled_slots(n) for n in range(1, MAX_TERMS + 1)}) == MAX_TERMS // SLOT_STEP
    assert [unrolled_slots(n) for n in (1, 4, 5, 24)] == [4, 4, 8, 24]
