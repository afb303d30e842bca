"""Chunks matching a question's words, ranked BM25-style on PostgreSQL full-text search.

Each term's ts_rank_cd (its frequency and proximity in the chunk, path words counting a little
more) is weighted by the term's rarity in the tenant's repository, and summed. ts_rank_cd alone
knows no rarity, so "request" (in half of an HTTP library) would count as much as "netrc" (in
one chunk): with the weights, full-text recall@6 on bench.retrieval_quality rose from 0.71 to
0.84.

Rarity without reading every matching row (a question's common words match a quarter of a
100,000-chunk repository, and ranking all of those took up to a second):
- a word's document frequency is read from the counts kept per (tenant, repo, lexeme), plus the
  deltas of writes not folded into them yet (spaces._term_counts): exact, an index probe and a
  scan of the repository's pending deltas (few: the indexer folds them after each run). A
  phrase term (an identifier's words) has no kept count: its df is taken as its rarest word's,
  an upper bound. Counting its matches instead meant reading rows (a phrase needs positions,
  which the GIN index does not hold): up to 1,000 heap rechecks per phrase, most of the slowest
  searches' time at 100,000 chunks (12 of 40 ms in one);
- weight = ln(1 + max_df / df), max_df the largest count among the question's terms;
- only the chunks holding one of the rarest terms are ranked (on all terms): the rarest terms
  whose counts add up to at most ``max_candidates`` (default ``MAX_CANDIDATES``); when none
  qualifies, the first chunks holding the rarest term. A phrase selects the chunks holding all
  its words, which the GIN index answers alone; the phrase itself is matched when ranking.
  Ranking is then the cost: a few microseconds per candidate, about half of it ts_rank_cd.
Measured with httpx's questions on httpx inside 100,000 other chunks (full-text only, p50 on a
loaded 2-core machine, with counts taken at search time): recall@6 0.49 ranking every match
(~320 ms), 0.56 with these caps (~40 ms), 0.60 with 2000 candidates (~47 ms). With kept counts
and phrases bounded by their words, bench.search_latency's own figure (httpx's 45 questions
among its 100,000 16-line windows) kept recall@6 and MRR@6 unchanged. On a repository whose
terms add up to at most MAX_CANDIDATES chunks, nothing is left out.
Stop-word-only terms (numnode 0) and terms found nowhere drop out.
"""

from __future__ import annotations

import enum
import functools
from typing import Any

from pgvector import Vector
from psycopg import AsyncConnection, sql

from bdg_indexer.search.fulltext import MAX_TERMS, query_terms
from bdg_indexer.search.ranking import SearchHit
from bdg_indexer.search.rows import COLUMNS, fetch, query_bytes, scope_of, to_hit
from bdg_indexer.storage.spaces import TS_CONFIG, EmbeddingSpace
from bdg_indexer.storage.vectors import ChunkStore

MAX_CANDIDATES = 2000
MAX_CANDIDATES_CAP = 20_000  # whoever sets it, ranking stays bounded
SLOT_STEP = 4  # the unrolled ranking's term counts: 4, 8, ... MAX_TERMS (unrolled_slots)

# The terms, their rarity and the candidates: shared by both rankings below.
_CANDIDATES = """
WITH live AS MATERIALIZED (
    SELECT t.term, to_tsquery({config}, t.term) AS q FROM unnest(%(terms)s::text[]) AS t(term)
    WHERE numnode(to_tsquery({config}, t.term)) > 0
), counted AS MATERIALIZED (
    -- a word's kept count (spaces._term_counts); a phrase's, at most its rarest word's
    SELECT l.term, l.q, (
        SELECT min(
            (SELECT coalesce(sum(c.df), 0) FROM {terms} c
             WHERE {scope} AND c.lexeme = m.found[1])
            -- and the deltas of writes not folded into the counts yet
            + (SELECT coalesce(sum(c.sign), 0) FROM {deltas} c
               WHERE {scope} AND c.tsv @@ m.found[1]::tsquery)
        )
        FROM regexp_matches(querytree(l.q), '''([^'']+)''', 'g') AS m(found)
    ) AS df
    FROM live l
), weighted AS MATERIALIZED (
    SELECT term, q, df, ln(1 + (SELECT max(df) FROM counted)::float8 / df) AS idf,
           sum(df) OVER (ORDER BY df, term) AS running
    FROM counted WHERE df > 0
), wanted AS (
    -- the rarest terms, as many as MAX_CANDIDATES rows can hold (see the module's doc); a
    -- phrase as its words AND-ed, which the GIN index answers without reading rows
    SELECT string_agg('(' || regexp_replace(q::text, '<[0-9-]+>', '&', 'g') || ')', ' | ')
           ::tsquery AS q
    FROM weighted
    WHERE running <= %(max_candidates)s OR running = (SELECT min(running) FROM weighted)
), candidates AS NOT MATERIALIZED (
    -- read by matched alone: inlined, so no candidate's tsvector is copied into a tuple store
    SELECT c.id, c.tsv FROM {table} c
    WHERE {scope} AND c.tsv @@ (SELECT q FROM wanted)
    LIMIT %(max_candidates)s
)"""
_HITS = """
SELECT {columns}, m.text_rank, {similarity}::float8 AS similarity
FROM matched m JOIN {table} c ON c.id = m.id AND {scope}
WHERE m.text_rank IS NOT NULL ORDER BY m.text_rank DESC, m.id
"""
# A candidate can match no term: when the question's terms were cut at MAX_TERMS after a phrase,
# before its words, a chunk holding the words apart is selected but matches nothing ranked. Its
# rank is NULL, and it is left out (its NULL rank once sorted it first and failed the search).
# The reference ranking (TextRanking.SUBQUERY): per candidate, a subquery over the terms. Its
# sum adds the terms in weighted's order (df, term), skipping those not matched.
_SUBQUERY_RANKING = """, matched AS MATERIALIZED (
    SELECT k.id, (
        SELECT sum(w.idf * ts_rank_cd(k.tsv, w.q)) FROM weighted w WHERE k.tsv @@ w.q
    ) AS text_rank
    FROM candidates k ORDER BY text_rank DESC NULLS LAST, k.id LIMIT %(n)s
)"""
_MATCHING = _CANDIDATES + _SUBQUERY_RANKING + _HITS
# The default (TextRanking.UNROLLED): the same sum written out, a term per slot (the i-th in
# weighted's order), each term's query and weight an InitPlan computed once. No subquery is
# started per candidate; a slot with no term (the question's stop words and unknown words drop
# out) costs a NULL test. The slots come in steps of SLOT_STEP, not one query per number of
# terms: psycopg prepares a statement after its 5th run on a connection (and PostgreSQL plans
# its next 5 runs for their values), so 24 queries left many searches planned anew, ~1 ms
# each. Server CPU per full-text search against the subquery, on bench.search_latency's data
# and questions: -2% with 24 slots for every question, -8% in steps of 4. The same float8
# additions in the same order (adding the 0 of a term not matched changes no bit), and nullif
# gives back the NULL of a candidate matching none (a matched term adds more than 0:
# ts_rank_cd > 0 when @@ holds, idf > 0).
_UNROLLED_RANKING = """, ordered AS MATERIALIZED (
    SELECT q, idf, row_number() OVER (ORDER BY df, term) AS i FROM weighted
), matched AS MATERIALIZED (
    SELECT k.id, nullif({rank}, 0) AS text_rank
    FROM candidates k ORDER BY text_rank DESC NULLS LAST, k.id LIMIT %(n)s
)"""
_UNROLLED_TERM = """coalesce(
        CASE WHEN k.tsv @@ (SELECT q FROM ordered WHERE i = {i})
        THEN (SELECT idf FROM ordered WHERE i = {i})
             * ts_rank_cd(k.tsv, (SELECT q FROM ordered WHERE i = {i})) END, 0)"""


class TextRanking(enum.Enum):
    UNROLLED = "unrolled"  # the default
    SUBQUERY = "subquery"  # the reference it must equal: tests and bench.search_latency


@functools.cache
def _matching_query(
    space: EmbeddingSpace,
    in_repo: bool,
    with_similarity: bool,
    ranking: TextRanking = TextRanking.SUBQUERY,
    slots: int = MAX_TERMS,
) -> bytes:
    """The query for one space, shape and ranking, composed once (rows.query_bytes); the
    unrolled ranking's with ``slots`` terms (unrolled_slots)."""
    if ranking is TextRanking.SUBQUERY:
        template = _MATCHING
    else:
        rank = " + ".join(_UNROLLED_TERM.format(i=i) for i in range(1, slots + 1))
        template = _CANDIDATES + _UNROLLED_RANKING.replace("{rank}", rank) + _HITS
    similarity = "1 - (c.embedding <=> %(vector)s)" if with_similarity else "NULL"
    return query_bytes(
        sql.SQL(template).format(
            config=sql.Literal(TS_CONFIG),
            table=sql.Identifier(space.table),
            terms=sql.Identifier(space.terms_table),
            deltas=sql.Identifier(space.term_deltas_table),
            scope=scope_of(in_repo),
            columns=COLUMNS,
            similarity=sql.SQL(similarity),
        )
    )


def unrolled_slots(n_terms: int) -> int:
    """Terms written out for a question of ``n_terms`` (1..MAX_TERMS): the next multiple of
    SLOT_STEP, so a few queries serve every question (see _UNROLLED_RANKING)."""
    return min(MAX_TERMS, -(-n_terms // SLOT_STEP) * SLOT_STEP)


async def matching(
    conn: AsyncConnection[Any],
    store: ChunkStore,
    tenant: str,
    repo: str | None,
    question: str,
    vector: Vector | None,
    n: int,
    max_candidates: int = MAX_CANDIDATES,
    ranking: TextRanking = TextRanking.UNROLLED,
) -> list[SearchHit]:
    """The ``n`` best chunks by words; with ``vector``, their similarity too (not ranked on).
    ``max_candidates`` bounds the chunks ranked (see the module's doc); both rankings give the
    same hits, ranks and order."""
    if not 1 <= max_candidates <= MAX_CANDIDATES_CAP:
        raise ValueError(f"max_candidates must be 1..{MAX_CANDIDATES_CAP}, not {max_candidates}")
    terms = query_terms(question)
    if not terms:
        return []
    slots = unrolled_slots(len(terms)) if ranking is TextRanking.UNROLLED else MAX_TERMS
    query = _matching_query(store.space, repo is not None, vector is not None, ranking, slots)
    params = {
        "tenant": tenant,
        "repo": repo,
        "terms": terms,
        "vector": vector,
        "n": n,
        "max_candidates": max_candidates,
    }
    rows = await fetch(conn, query, params)
    return [to_hit(row, score=row["text_rank"]) for row in rows]
