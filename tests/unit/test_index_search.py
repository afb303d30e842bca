"""Pure parts of code search: query terms, reciprocal rank fusion, token budget, rendering."""

from __future__ import annotations

import inspect
import random
from collections.abc import Sequence
from dataclasses import replace

import pytest

from bdg_indexer.search.fulltext import MAX_TERMS, query_terms, split_identifiers
from bdg_indexer.search.ranking import (
    ChunkKey,
    SearchHit,
    above_threshold,
    fuse,
    fuse_normalised,
    iter_fuse,
    within_budget,
)
from bdg_indexer.storage.spaces import EmbeddingSpace

pytestmark = pytest.mark.timeout(30)


def hit(path: str, tokens: int = 10, similarity: float | None = None, **kw: object) -> SearchHit:
    return SearchHit(
        repo="r",
        path=path,
        blob_sha="b",
        chunk_no=0,
        start_line=1,
        end_line=3,
        language="python",
        token_count=tokens,
        snippet=f"# {path}\n",
        similarity=similarity,
        **kw,  # type: ignore[arg-type]
    )


def test_identifiers_split_like_the_index_does() -> None:
    assert split_identifiers("self._pool.handleRequest(HTTPTransport, max_redirects=20)") == [
        "self", "pool", "handle", "request", "http", "transport", "max", "redirects", "20",
    ]  # fmt: skip


def test_query_terms_are_words_and_identifiers_also_phrases() -> None:
    assert query_terms("Where is parseRetryAfter called? Where?") == [
        "where", "is", "(parse <-> retry <-> after)", "parse", "retry", "after", "called",
    ]  # fmt: skip
    assert query_terms("max_redirects") == ["(max <-> redirects)", "max", "redirects"]
    assert query_terms("!!! ???") == []
    assert query_terms("a b' | c) & !d:*") == ["a", "b", "c", "d"]  # no tsquery syntax survives
    assert len(query_terms(" ".join(f"w{n}" for n in range(100)))) == MAX_TERMS


def test_fusion_ranks_what_both_lists_agree_on_first() -> None:
    vector = [hit("v1.py", similarity=0.9), hit("both.py", similarity=0.8)]
    text = [hit("t1.py", text_rank=0.5), hit("both.py", text_rank=0.3)]
    fused = fuse(vector, text, k=60)
    assert [h.path for h in fused] == ["both.py", "v1.py", "t1.py"]
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 62)
    assert (fused[0].similarity, fused[0].text_rank) == (0.8, 0.3)  # both sides' scores kept
    assert fused[1].score == fused[2].score == pytest.approx(1 / 61)  # tie: vector rank first


def test_fusion_weights_tilt_the_ties() -> None:
    vector, text = [hit("v.py", similarity=0.9)], [hit("t.py", text_rank=0.5)]
    assert [h.path for h in fuse(vector, text, text_weight=2.0)] == ["t.py", "v.py"]
    assert fuse([], []) == []


def plain_fuse(
    vector_hits: Sequence[SearchHit], text_hits: Sequence[SearchHit], k: int, vw: float, tw: float
) -> list[SearchHit]:
    """RRF as first written (ChunkKey objects, dataclasses.replace): what fuse must equal."""
    merged: dict[ChunkKey, SearchHit] = {}
    scores: dict[ChunkKey, float] = {}
    best_vector: dict[ChunkKey, int] = {}
    for rank, h in enumerate(vector_hits, start=1):
        merged.setdefault(h.key, h)
        scores[h.key] = scores.get(h.key, 0.0) + vw / (k + rank)
        best_vector.setdefault(h.key, rank)
    for rank, h in enumerate(text_hits, start=1):
        seen = merged.get(h.key)
        merged[h.key] = h if seen is None else replace(seen, text_rank=h.text_rank)
        scores[h.key] = scores.get(h.key, 0.0) + tw / (k + rank)
    unranked = len(vector_hits) + 1
    order = sorted(
        merged, key=lambda c: (-scores[c], best_vector.get(c, unranked), c.path, c.chunk_no)
    )
    return [replace(merged[c], score=scores[c]) for c in order]


def test_fusion_equals_the_plain_definition_on_random_lists() -> None:
    # Overlaps, ties (equal weights and ranks), duplicates within a list, chunks of one path
    rng = random.Random(5)
    for _ in range(300):
        pool = [
            replace(
                hit(f"p{rng.randrange(6)}.py"),
                chunk_no=n,
                repo=rng.choice("rs"),
                blob_sha=rng.choice("bc"),
            )
            for n in range(rng.randrange(1, 12))
        ]
        vector = [
            replace(rng.choice(pool), similarity=rng.random()) for _ in range(rng.randrange(8))
        ]
        text = [replace(rng.choice(pool), text_rank=rng.random()) for _ in range(rng.randrange(8))]
        k, vw, tw = rng.choice([1, 10, 60]), rng.choice([1.0, 0.5]), rng.choice([1.0, 1.5])
        assert fuse(vector, text, k, vw, tw) == plain_fuse(vector, text, k, vw, tw)


def test_a_search_keeps_the_first_fused_hits_copying_no_more() -> None:
    # iter_fuse gives fuse's hits one at a time: what within_budget keeps is fuse's, and a
    # hit past those kept is never copied (rescored), however long the lists.
    rng = random.Random(8)
    vector = [replace(hit(f"v{n}.py"), similarity=rng.random()) for n in range(50)]
    text = [replace(hit(f"v{n * 3}.py"), text_rank=rng.random()) for n in range(50)]
    for budget, limit in [(None, 6), (None, 200), (2000, 6), (250, 3), (10, 6)]:
        expected = within_budget(fuse(vector, text, 10, 1.0, 1.5), budget, limit)
        assert within_budget(iter_fuse(vector, text, 10, 1.0, 1.5), budget, limit) == expected
    lazy = iter_fuse(vector, text, 10, 1.0, 1.5)
    assert inspect.isgenerator(lazy)  # each hit made when reached, not a list made up front
    first = next(lazy)
    assert first == fuse(vector, text, 10, 1.0, 1.5)[0]
    assert len(list(lazy)) == len(fuse(vector, text)) - 1  # the rest only when asked for


def test_threshold_keeps_only_similar_enough_hits() -> None:
    hits = [hit("a", similarity=0.5), hit("b", similarity=0.19), hit("c")]
    assert [h.path for h in above_threshold(hits, 0.2)] == ["a"]


def test_budget_keeps_rank_order_and_passes_over_what_does_not_fit() -> None:
    hits = [hit("a", 800), hit("b", 900), hit("c", 400), hit("d", 10)]
    assert [h.path for h in within_budget(hits, 2000, limit=6)] == ["a", "b", "d"]
    assert [h.path for h in within_budget(hits, 2110, limit=6)] == ["a", "b", "c", "d"]
    assert [h.path for h in within_budget(hits, 10_000, limit=2)] == ["a", "b"]
    assert [h.path for h in within_budget(hits, 500, limit=6)] == ["c", "d"]
    assert within_budget(hits, 5, limit=6) == []


def test_space_tables_are_safe_names_apart_for_lookalike_models() -> None:
    a = EmbeddingSpace("text-embedding-3-small", 1536)
    b = EmbeddingSpace("text_embedding_3_small", 1536)
    assert a.table.startswith("code_chunks_text_embedding_3_small_")
    assert a.table.endswith("_1536")
    assert a.table != b.table
    weird = EmbeddingSpace('x"; DROP TABLE users; --' + "y" * 100, 384)
    assert weird.table.replace("_", "").isalnum()
    assert len(weird.table) + len("_hnsw") <= 63
    with pytest.raises(ValueError, match="halfvec"):
        EmbeddingSpace("text-embedding-3-large", 3072)


def test_without_a_budget_limit_is_the_number_of_hits() -> None:
    hits = [hit(p, tokens=900, similarity=0.9 - n / 10) for n, p in enumerate("abcdefgh")]
    assert [h.path for h in within_budget(hits, None, limit=6)] == list("abcdef")
    assert [h.path for h in within_budget(hits[:3], None, limit=6)] == list("abc")


def test_score_fusion_keeps_a_strong_single_list_hit_ahead_of_middling_ones() -> None:
    # "text.py" is far ahead on full text and nowhere on the vector side; "mid.py" is middling
    # on both. RRF puts mid.py first (it is on both lists); score fusion sees the margin.
    vector = [hit("v.py", similarity=0.60), hit("mid.py", similarity=0.45, text_rank=None)]
    vector += [hit(f"v{n}.py", similarity=0.40 - n / 100) for n in range(5)]
    text = [hit("text.py", similarity=0.30, text_rank=3.0), hit("mid.py", text_rank=0.5)]
    text += [hit(f"t{n}.py", similarity=0.2, text_rank=0.4 - n / 100) for n in range(5)]
    assert fuse(vector, text)[0].path == "mid.py"
    fused = fuse_normalised(vector, text)
    assert [h.path for h in fused[:2]] == ["text.py", "v.py"]
    assert fused[0].score == pytest.approx(0.25 + 1.0)  # (0.30-0.20)/(0.60-0.20) + 1
    assert fuse_normalised([], []) == []


def test_score_fusion_weights_and_a_single_candidate() -> None:
    only = [hit("a.py", similarity=0.5)]
    assert fuse_normalised(only, [])[0].score == 1.0  # one value scales to 1, not 0/0
    vector, text = [hit("v.py", similarity=0.9)], [hit("t.py", similarity=0.1, text_rank=0.5)]
    assert [h.path for h in fuse_normalised(vector, text, text_weight=0.5)] == ["v.py", "t.py"]
    assert [h.path for h in fuse_normalised(vector, text, text_weight=2.0)] == ["t.py", "v.py"]
