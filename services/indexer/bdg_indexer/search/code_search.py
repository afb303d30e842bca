"""Code search over one embedding space: vector, full-text, or both fused (RRF).

Every query filters on the tenant in SQL (rows.scope_of), so another tenant's chunk never
leaves the database, whatever the repo names or contents. Defaults, measured on bench/:
- ``DEFAULT_MIN_SIMILARITY`` 0.2: all-MiniLM-L6-v2 puts a question and the chunk that answers it
  at cosine 0.25-0.63 (p5-p95, median 0.49), wrong chunks among the top 50 at 0.14-0.41 (median
  0.26); 0.2 drops the weakest wrong ones and no answer (recall@6 unchanged from no threshold,
  0.3 would lose answers). It only drops vector hits: a full-text hit matched words.
- ``ef_search`` 100 (pgvector's default is 40): the HNSW candidate list must hold the 50
  candidates hybrid search fuses; on 100,000 clustered 384-dim vectors recall@6 is 0.999 at 100
  against 0.989 at 40 and 0.91 at 20, for a few ms (bench.search_latency).
- RRF with k=10 and the full-text list weighted 1.5, 50 candidates a side: chosen on the dev
  part of bench.retrieval_quality (48 questions, httpx and axios) among RRF k 10/30/60 with text
  weights 0.5-2 and score fusion (``Fusion.SCORES``) with text weights 0.25-1.5. Dev hybrid
  recall@6 / MRR@6 0.917 / 0.776 against 0.896 / 0.774 for k=60 and equal weights: one question,
  within noise; a small k lets a chunk far ahead on one list keep its lead. Score fusion did no
  better on 512-token chunks (0.896 / 0.765 at best).
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pgvector import Vector

from bdg_indexer.search.ranking import (
    SearchHit,
    above_threshold,
    fuse_normalised,
    iter_fuse,
    within_budget,
)
from bdg_indexer.search.text_search import MAX_CANDIDATES, TextRanking, matching
from bdg_indexer.search.vector_search import nearest
from bdg_indexer.storage.vectors import ChunkStore

DEFAULT_MIN_SIMILARITY = 0.2
TUNED_RRF_K = 10  # not Cormack's 60 (RRF_K): see the module's doc
DEFAULT_LIMIT = 6


class Fusion(enum.Enum):
    RRF = "rrf"  # reciprocal rank fusion: ranks only
    SCORES = "scores"  # min-max scaled similarity and text rank, weighted (fuse_normalised)


class SearchMode(enum.Enum):
    VECTOR = "vector"
    FULLTEXT = "fulltext"
    HYBRID = "hybrid"


@dataclass(frozen=True)
class SearchTuning:
    """How hard to look. ``candidates``: hits taken from each side before fusing;
    ``text_candidates``: chunks the full-text side ranks at most (text_search's doc);
    ``text_ranking``: how it ranks them (the same hits either way; the reference is for the
    equivalence test and bench.search_latency's before/after)."""

    candidates: int = 50
    ef_search: int = 100
    rrf_k: int = TUNED_RRF_K
    vector_weight: float = 1.0
    text_weight: float = 1.5
    fusion: Fusion = Fusion.RRF
    text_candidates: int = MAX_CANDIDATES
    text_ranking: TextRanking = TextRanking.UNROLLED


async def search(
    store: ChunkStore,
    tenant: str,
    repo: str | None,
    query_text: str,
    query_vector: Sequence[float] | None,
    *,
    mode: SearchMode = SearchMode.HYBRID,
    limit: int = DEFAULT_LIMIT,
    token_budget: int | None = None,
    min_score: float = DEFAULT_MIN_SIMILARITY,
    tuning: SearchTuning = SearchTuning(),  # frozen: one shared default is safe
) -> list[SearchHit]:
    """The tenant's best chunks (in ``repo``, or all its repos when None), best first: ``limit``
    hits when that many match, or with a ``token_budget`` at most ``limit`` whose token counts add
    up to at most the budget. Vector hits under ``min_score`` (cosine similarity) are dropped."""
    if not tenant:
        raise ValueError("a search needs a tenant")
    if mode is not SearchMode.FULLTEXT and query_vector is None:
        raise ValueError(f"{mode.value} search needs a query vector")
    vector = Vector(list(query_vector)) if query_vector is not None else None
    # Hybrid fuses longer lists; a single mode needs no more than it returns, but the budget
    # may skip some, so it also looks a little further.
    wanted = max(limit, tuning.candidates) if mode is SearchMode.HYBRID else 2 * limit

    async def by_vector() -> list[SearchHit]:
        if vector is None or mode is SearchMode.FULLTEXT:
            return []
        # A transaction for SET LOCAL; pipelined, so its BEGIN, settings and query go out in one
        # round trip (each is a wait for the server's turn on a busy machine).
        async with store.pool.connection() as conn, conn.pipeline(), conn.transaction():
            found = await nearest(conn, store, tenant, repo, vector, wanted, tuning.ef_search)
        return above_threshold(found, min_score)

    async def by_text() -> list[SearchHit]:
        if mode is SearchMode.VECTOR:
            return []
        async with store.pool.connection() as conn:
            return await matching(
                conn,
                store,
                tenant,
                repo,
                query_text,
                vector,
                wanted,
                tuning.text_candidates,
                tuning.text_ranking,
            )

    # Both sides at once, on two pooled connections: hybrid waits for the slower, not the sum.
    vector_hits, text_hits = await asyncio.gather(by_vector(), by_text())
    if mode is SearchMode.HYBRID:
        if tuning.fusion is Fusion.SCORES:
            fused: Iterable[SearchHit] = fuse_normalised(
                vector_hits, text_hits, tuning.vector_weight, tuning.text_weight
            )
        else:
            weights = (tuning.rrf_k, tuning.vector_weight, tuning.text_weight)
            fused = iter_fuse(vector_hits, text_hits, *weights)  # copies only the hits kept
        return within_budget(fused, token_budget, limit)
    return within_budget(vector_hits or text_hits, token_budget, limit)  # one side is empty
