"""Pure ranking: fuse the vector and full-text lists, keep the first hits (within a token budget
only when the caller asks for one)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import islice

RRF_K = 60  # Cormack et al.'s constant: damps the head of each list so neither dominates


@dataclass(frozen=True)
class ChunkKey:
    repo: str
    path: str
    blob_sha: str
    chunk_no: int


@dataclass(frozen=True)
class SearchHit:
    """One chunk found. ``similarity`` is cosine similarity (1 - cosine distance) when the
    vector side saw it, ``text_rank`` PostgreSQL's ts_rank_cd when the full-text side matched
    it; ``score`` is what the hits are ordered by (the mode's own score, RRF when hybrid)."""

    repo: str
    path: str
    blob_sha: str
    chunk_no: int
    start_line: int
    end_line: int
    language: str
    token_count: int
    snippet: str
    similarity: float | None = None
    text_rank: float | None = None
    score: float = 0.0

    @property
    def key(self) -> ChunkKey:
        return ChunkKey(self.repo, self.path, self.blob_sha, self.chunk_no)


def above_threshold(hits: Sequence[SearchHit], min_similarity: float) -> list[SearchHit]:
    return [h for h in hits if h.similarity is not None and h.similarity >= min_similarity]


def fuse(
    vector_hits: Sequence[SearchHit],
    text_hits: Sequence[SearchHit],
    k: int = RRF_K,
    vector_weight: float = 1.0,
    text_weight: float = 1.0,
) -> list[SearchHit]:
    """Reciprocal rank fusion: score = sum over lists of weight / (k + rank), rank from 1.

    Each list must come in its own rank order. A chunk on both lists carries both its
    similarity and its text rank. Ties go to the better vector rank, then the path, so the
    order is deterministic.
    """
    return list(iter_fuse(vector_hits, text_hits, k, vector_weight, text_weight))


def iter_fuse(
    vector_hits: Sequence[SearchHit],
    text_hits: Sequence[SearchHit],
    k: int = RRF_K,
    vector_weight: float = 1.0,
    text_weight: float = 1.0,
) -> Iterator[SearchHit]:
    """``fuse``'s hits in its order, each copied with its score only when it is reached: a
    search keeps its first few of ~75 (copying them all was ~0.2 ms of a hybrid search's
    client CPU, after the slower side has answered)."""
    # Keyed by plain tuples and each hit copied once at the end: hybrid search runs this on
    # every query, and ChunkKey objects plus a dataclasses.replace per merge made it about a
    # millisecond of client CPU (as much as a quiet server spends on the vector side).
    merged: dict[_Key, SearchHit] = {}
    scores: dict[_Key, float] = {}
    best_vector: dict[_Key, int] = {}
    text_ranks: dict[_Key, float | None] = {}
    for rank, hit in enumerate(vector_hits, start=1):
        key = _key(hit)
        if key not in merged:
            merged[key] = hit
            best_vector[key] = rank
        scores[key] = scores.get(key, 0.0) + vector_weight / (k + rank)
    for rank, hit in enumerate(text_hits, start=1):
        key = _key(hit)
        merged.setdefault(key, hit)
        text_ranks[key] = hit.text_rank
        scores[key] = scores.get(key, 0.0) + text_weight / (k + rank)
    unranked = len(vector_hits) + 1
    order = sorted(
        merged,
        key=lambda key: (-scores[key], best_vector.get(key, unranked), key[1], key[3]),
    )
    for key in order:
        yield _rescored(merged[key], scores[key], text_ranks.get(key, merged[key].text_rank))


_Key = tuple[str, str, str, int]  # ChunkKey's fields: hashed in C, no object per lookup


def _key(hit: SearchHit) -> _Key:
    return (hit.repo, hit.path, hit.blob_sha, hit.chunk_no)


def _rescored(hit: SearchHit, score: float, text_rank: float | None) -> SearchHit:
    """``replace(hit, score=..., text_rank=...)`` without dataclasses.replace's field walk."""
    return SearchHit(
        hit.repo,
        hit.path,
        hit.blob_sha,
        hit.chunk_no,
        hit.start_line,
        hit.end_line,
        hit.language,
        hit.token_count,
        hit.snippet,
        hit.similarity,
        text_rank,
        score,
    )


def fuse_normalised(
    vector_hits: Sequence[SearchHit],
    text_hits: Sequence[SearchHit],
    vector_weight: float = 1.0,
    text_weight: float = 1.0,
) -> list[SearchHit]:
    """Score fusion: ``vector_weight * sim' + text_weight * text'``, each side min-max scaled
    to 0..1 over the candidates, so a hit far ahead on one list keeps its lead where RRF would
    only see its rank.

    A full-text hit carries its similarity too (text_search computes it), so it is scaled on
    both sides; a vector-only hit had no words in the top full-text candidates and gets 0 there.
    Ties go to the higher similarity, then the path.
    """
    merged: dict[ChunkKey, SearchHit] = {h.key: h for h in vector_hits}
    for hit in text_hits:
        seen = merged.get(hit.key)
        merged[hit.key] = hit if seen is None else replace(seen, text_rank=hit.text_rank)
    sims = [h.similarity for h in merged.values() if h.similarity is not None]
    ranks = [h.text_rank for h in merged.values() if h.text_rank is not None]

    def scaled(value: float | None, values: list[float]) -> float:
        if value is None or not values:
            return 0.0
        low, high = min(values), max(values)
        return 1.0 if high == low else (value - low) / (high - low)

    scores = {
        key: vector_weight * scaled(h.similarity, sims) + text_weight * scaled(h.text_rank, ranks)
        for key, h in merged.items()
    }
    order = sorted(
        merged,
        key=lambda key: (-scores[key], -(merged[key].similarity or 0.0), key.path, key.chunk_no),
    )
    return [replace(merged[key], score=scores[key]) for key in order]


def within_budget(
    hits: Iterable[SearchHit], token_budget: int | None, limit: int
) -> list[SearchHit]:
    """Hits in rank order, at most ``limit``; with a ``token_budget``, each kept if it still fits.

    Without a budget (the default of a search) ``limit`` is the number of hits whenever that
    many match: the budget belongs where a prompt is built (bdg_llm.code_context). With one, a
    hit too big for what is left is passed over, not a stop: one oversized chunk at the top
    must not leave the prompt with nothing. What is kept stays in rank order.
    """
    if token_budget is None:
        return list(islice(hits, limit))
    kept: list[SearchHit] = []
    used = 0
    for hit in hits:
        if len(kept) == limit:
            break
        if used + hit.token_count <= token_budget:
            kept.append(hit)
            used += hit.token_count
    return kept
