"""The full-text side's unrolled ranking (text_search.TextRanking.UNROLLED, the default) against
the subquery ranking it replaced (SUBQUERY, the reference), on real PostgreSQL: the same hits,
text ranks (to the bit) and order, on a generated corpus and questions, with ties, one term,
no hit, a term in every chunk, phrases, stop words and a candidate matching no term."""

from __future__ import annotations

import random
import secrets
from collections.abc import AsyncIterator

import pytest

from bdg_indexer.chunks import Chunk
from bdg_indexer.search.code_search import SearchMode, SearchTuning, search
from bdg_indexer.search.fulltext import query_terms
from bdg_indexer.search.ranking import SearchHit
from bdg_indexer.search.text_search import TextRanking, matching, unrolled_slots
from bdg_indexer.storage.spaces import EmbeddingSpace
from bdg_indexer.storage.vectors import ChunkStore

pytestmark = pytest.mark.timeout(120)

SPACE = EmbeddingSpace("text-ranking-test", 4)
VECTOR = [1.0, 0.0, 0.0, 0.0]
# Zipf-like: the first words in many chunks, the last in few; "everywhere" is in all of them.
WORDS = [
    *("request", "response", "client", "header", "stream", "timeout", "proxy", "retry"),
    *("cookie", "redirect", "tunnel", "digest", "netrc", "backoff", "decode", "certificate"),
]
IDENTIFIERS = ["retryPolicy", "read_timeout", "ProxyTunnel", "decodeStream", "netrc_auth"]


def names() -> tuple[str, str]:
    return f"tenant-{secrets.token_hex(4)}", f"repo-{secrets.token_hex(4)}"


def corpus(rng: random.Random) -> list[Chunk]:
    """200 chunks: many share the same few words in the same amounts, so ranks tie."""
    chunks = []
    for n in range(200):
        count = 1 + n % 5
        words = [WORDS[min(int(rng.paretovariate(1.0)) - 1, len(WORDS) - 1)] for _ in range(count)]
        if n % 7 == 0:
            words.append(rng.choice(IDENTIFIERS))
        if n % 11 == 0:
            words += ["the", "and", "of"]  # stop words: not in the tsvector
        text = "def f():\n    " + " ".join([*words, "everywhere"])
        path = f"{rng.choice(WORDS)}/m{n % 13}.py"
        chunks.append(Chunk(path, "b" * 40, n, 1, 2, "python", 10, text))
    return chunks


def questions(rng: random.Random) -> list[str]:
    asked = [
        "netrc",  # one term, rare
        "everywhere",  # a term in every chunk
        "nowhere",  # no hit
        "the and of",  # stop words only
        "retryPolicy",  # a phrase and its words
        "how is the ProxyTunnel opened with a digest header",
        "everywhere request",
        " ".join(WORDS + IDENTIFIERS),  # cut at MAX_TERMS
    ]
    for _ in range(40):  # 1 to 24 terms: every number of unrolled slots (unrolled_slots)
        picked = rng.sample(WORDS, rng.randint(1, 12)) + rng.sample(IDENTIFIERS, rng.randint(0, 4))
        asked.append(" ".join(picked))
    return asked


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[ChunkStore]:
    opened = await ChunkStore.open(database_url, SPACE)
    yield opened
    await opened.close()


async def ranked(
    store: ChunkStore, tenant: str, repo: str, question: str, ranking: TextRanking, cap: int
) -> list[SearchHit]:
    async with store.pool.connection() as conn:
        return await matching(conn, store, tenant, repo, question, None, 500, cap, ranking)


async def test_the_unrolled_ranking_gives_the_references_hits_ranks_and_order(
    store: ChunkStore,
) -> None:
    rng = random.Random(20)
    tenant, repo = names()
    await store.upsert(tenant, repo, [(c, VECTOR) for c in corpus(rng)])
    await store.fold_term_counts(tenant, repo)
    ties = hits = 0
    asked = questions(rng)
    assert {unrolled_slots(len(query_terms(q))) for q in asked} == {4, 8, 12, 16, 20, 24}
    for question in asked:
        for cap in (2000, 30):  # every chunk holding a term, or the rarest terms' chunks only
            expected = await ranked(store, tenant, repo, question, TextRanking.SUBQUERY, cap)
            got = await ranked(store, tenant, repo, question, TextRanking.UNROLLED, cap)
            assert got == expected, (question, cap)  # hits, text ranks to the bit, order
            ranks = [h.text_rank for h in expected]
            ties += len(ranks) - len(set(ranks))
            hits += len(expected)
    # The comparison meant something: many hits, many of them tied (ordered by id)
    assert hits > 2000
    assert ties > 500
    everywhere = await ranked(store, tenant, repo, "everywhere", TextRanking.UNROLLED, 2000)
    assert len(everywhere) == 200
    assert await ranked(store, tenant, repo, "nowhere", TextRanking.UNROLLED, 2000) == []
    assert await ranked(store, tenant, repo, "the and of", TextRanking.UNROLLED, 2000) == []


async def test_a_candidate_matching_no_term_is_left_out_by_both(store: ChunkStore) -> None:
    # A question's terms stop at MAX_TERMS (24): here the 24th is the phrase "zeta <-> omega"
    # and its words are cut off. The phrase selects the chunks holding both words; the one
    # holding them apart then matches no term: its rank is NULL (it once sorted first, and
    # turning it into a hit failed the search).
    tenant, repo = names()
    rows = [Chunk("apart.py", "b", 0, 1, 1, "python", 10, "zeta = 1 + omega")]
    rows += [Chunk("together.py", "b", 0, 1, 1, "python", 10, "zeta_omega()")]
    await store.upsert(tenant, repo, [(c, VECTOR) for c in rows])
    absent = " ".join(f"absent{n}" for n in range(23))
    question = f"{absent} zetaOmega"
    for ranking in TextRanking:
        hits = await ranked(store, tenant, repo, question, ranking, 2000)
        assert [h.path for h in hits] == ["together.py"]


async def test_search_ranks_with_the_tunings_text_ranking(store: ChunkStore) -> None:
    # Both reach the database through search(): the same answer, and a tuning that names no
    # ranking gets the unrolled one.
    tenant, repo = names()
    await store.upsert(tenant, repo, [(c, VECTOR) for c in corpus(random.Random(3))])
    answers = {}
    for ranking in TextRanking:
        tuning = SearchTuning(text_ranking=ranking)
        answers[ranking] = await search(
            store, tenant, repo, "retry backoff proxy", None, mode=SearchMode.FULLTEXT,
            tuning=tuning,
        )  # fmt: skip
    assert answers[TextRanking.UNROLLED] == answers[TextRanking.SUBQUERY]
    assert len(answers[TextRanking.UNROLLED]) == 6
    assert SearchTuning().text_ranking is TextRanking.UNROLLED
