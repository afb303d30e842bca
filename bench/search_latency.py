"""Code search latency on 100,000 chunks: HNSW, hybrid and exact search measured in one run.

Vectors are synthetic but clustered like real embeddings (384 dims, points scattered around a
few hundred centres), so HNSW works as hard as on real data; texts are 16-line windows of the
Python files installed in this environment, so full-text search meets real identifiers and word
frequencies. The table is bulk-loaded with COPY, then the HNSW index is built (timed). Queries
are vectors drawn near the same centres, with the retrieval bench's questions plus an
identifier as text. Exact search is the same query with index scans disabled (a sequential scan
computing every distance); recall@6 of HNSW is measured against it. Latencies are seen by the
client through bdg_indexer.search.code_search, psycopg included; beside them, the floor of the
same run: a bare `SELECT 1` through the same pool, and HNSW alone (what hybrid waits for at
least). The load average is printed: on a shared 2-core machine it moves every figure; the
server CPU per search of each mode (p50/p99) is printed too, which the load hardly moves. Each
round runs one search of every series, in a shuffled order. Full-text and hybrid search are
also run with the full-text ranking they replaced (text_search.TextRanking.SUBQUERY): before
and after in the same rounds, with how many of the answers are the same (hits, order, scores).
The COPY appends the full-text term deltas (spaces._term_counts); folding them into the counts,
as the indexer does after a run, is timed apart.

Full-text quality at this scale (what the candidate caps trade for time): httpx is installed
here, so its files are among the windows; bench.retrieval_quality's httpx questions are asked of
the whole 100,000 (full-text only: the vectors are synthetic), and recall@6 / MRR@6 printed for
its dev and held-out parts, at the default cap and each ``--text-candidates``.

    uv run python -m bench.search_latency [--url postgresql://...] [--chunks 100000]
Without --url (or BDG_BENCH_DATABASE_URL) it starts an embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import random
import re
import sysconfig
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from pgvector.psycopg import register_vector_async
from psycopg import AsyncConnection, sql

from bdg_indexer.search.code_search import SearchMode, SearchTuning, search
from bdg_indexer.search.ranking import ChunkKey
from bdg_indexer.search.text_search import TextRanking
from bdg_indexer.storage.spaces import (
    EmbeddingSpace,
    create_vector_index,
    ensure_space,
    fold_term_counts,
    vacuum_term_deltas,
)
from bdg_indexer.storage.vectors import ChunkStore
from bench.fresh_postgres import fresh_database
from bench.retrieval_quality import PARTS, first_right, load_corpus, scores

DIMS = 384
TENANT, REPO = "bench", "site-packages"
SPACE = EmbeddingSpace("bench-synthetic-clustered", DIMS)
WINDOW = 16  # lines per chunk
QUESTIONS = Path(__file__).parent / "data" / "retrieval_httpx.json"
AIMS = "aims: HNSW and hybrid p50 < 10 ms, p99 < 25 ms"


def windows(limit: int) -> Iterator[tuple[str, int, str]]:
    """(path, chunk number, text) from installed .py files, in a fixed order."""
    root = Path(sysconfig.get_paths()["purelib"])
    while True:  # wrap around if the environment holds fewer windows than asked
        for file in sorted(root.rglob("*.py")):
            try:
                lines = file.read_text(errors="replace").splitlines(keepends=True)
            except OSError:
                continue
            for number, start in enumerate(range(0, len(lines), WINDOW)):
                text = "".join(lines[start : start + WINDOW])
                if len(text.strip()) < 40:
                    continue
                yield file.relative_to(root).as_posix(), number, text
                limit -= 1
                if limit == 0:
                    return


def clustered(n: int, centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors near random centres (cosine to their centre about 0.7, like related code)."""
    picks = centres[rng.integers(0, len(centres), n)]
    noise = rng.standard_normal((n, DIMS)).astype(np.float32) / np.sqrt(DIMS)
    points = picks + noise
    return points / np.linalg.norm(points, axis=1, keepdims=True)


COLUMNS = (
    "tenant, repo, path, blob_sha, chunk_no, start_line, end_line, language, token_count, "
    "content, embedding"
)
TYPES = ["text"] * 4 + ["int4"] * 3 + ["text", "int4", "text", "vector"]


async def copy_rows(url: str, rows: Sequence[tuple[Any, ...]]) -> None:
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        await register_vector_async(conn)
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT BINARY)").format(
            sql.Identifier(SPACE.table), sql.SQL(COLUMNS)
        )
        async with conn.cursor() as cur, cur.copy(copy_sql) as copy:
            copy.set_types(TYPES)
            for row in rows:
                await copy.write_row(row)


async def load(url: str, n: int, rng: np.random.Generator, centres: np.ndarray) -> list[str]:
    """COPY ``n`` chunks in, then build the HNSW index; returns words seen, for queries."""
    words: list[str] = []
    rows = []
    for vector, (path, number, text) in zip(clustered(n, centres, rng), windows(n), strict=True):
        start = number * WINDOW + 1
        # ~4 characters per token: exact counts would cost minutes here, and only the token
        # budget reads them.
        rows.append(
            (TENANT, REPO, path, "b", number, start, start + WINDOW - 1, "python",
             len(text) // 4, text, vector)
        )  # fmt: skip
        if len(words) < 5000 and rng.random() < 0.05:
            words += re.findall(r"[A-Za-z_]{6,}", text)[:2]
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        await ensure_space(conn, SPACE, vector_index=False)
        started = time.perf_counter()
        # Two streams: the server's work per row (tsvector, indexes) is what takes the time,
        # and there are two cores.
        await asyncio.gather(copy_rows(url, rows[0::2]), copy_rows(url, rows[1::2]))
        print(f"loaded {n:,} chunks with COPY in {time.perf_counter() - started:.1f}s")
        started = time.perf_counter()
        await fold_term_counts(conn, SPACE, TENANT, REPO)
        await vacuum_term_deltas(conn, SPACE)  # as ChunkStore.fold_term_counts does
        print(f"folded their term deltas into the counts in {time.perf_counter() - started:.1f}s")
        await conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(SPACE.table)))
        await conn.execute("SET maintenance_work_mem = '1GB'")
        await conn.execute("SET max_parallel_maintenance_workers = 1")  # 2 cores: leader + 1
        started = time.perf_counter()
        await create_vector_index(conn, SPACE)
        elapsed = time.perf_counter() - started
        print(f"built the HNSW index (m=16, ef_construction=64) in {elapsed:.1f}s")
    return words


async def exact(conn: AsyncConnection[Any], vector: np.ndarray, k: int) -> list[ChunkKey]:
    async with conn.transaction():
        await conn.execute("SET LOCAL enable_indexscan = off")  # no HNSW: compute every distance
        cur = await conn.execute(
            sql.SQL(
                "SELECT repo, path, blob_sha, chunk_no FROM {} WHERE tenant = %s AND repo = %s "
                "ORDER BY embedding <=> %s LIMIT %s"
            ).format(sql.Identifier(SPACE.table)),
            (TENANT, REPO, vector, k),
        )
        return [ChunkKey(*row) for row in await cur.fetchall()]


async def timed(
    series: dict[str, Sequence[Callable[[], Awaitable[Any]]]],
) -> dict[str, tuple[list[float], list[Any]]]:
    """Runs the i-th call of every series before the (i+1)-th of any: on a shared machine a
    burst of load then hits all series alike instead of one. Each round runs them in another
    order (shuffled, seeded): in a fixed order the searches right after the exact scan (which
    leaves the CPU caches cold) were always the ones it slowed (HNSW at ef_search 100 measured
    slower than at 200 in the same run, and of two series of the same searches the one placed
    right after HNSW was 1.5 ms slower at p50)."""
    out: dict[str, tuple[list[float], list[Any]]] = {name: ([], []) for name in series}
    order = list(series)
    shuffler = random.Random(20)
    for i in range(min(len(calls) for calls in series.values())):
        shuffler.shuffle(order)
        for name in order:
            started = time.perf_counter()
            result = await series[name][i]()
            out[name][0].append(time.perf_counter() - started)
            out[name][1].append(result)
    return out


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def report(name: str, values: list[float], extra: str = "") -> None:
    print(f"{name:<44} p50 {pct(values, 50):7.2f} ms   p99 {pct(values, 99):7.2f} ms  {extra}")


async def measure(url: str, args: argparse.Namespace) -> None:
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((args.centres, DIMS)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    words = await load(url, args.chunks, rng, centres)
    questions = [q["q"] for q in json.loads(QUESTIONS.read_text())["questions"]]
    picker = random.Random(7)
    texts = [f"{questions[i % len(questions)]} {picker.choice(words)}" for i in range(args.queries)]
    vectors = clustered(args.queries, centres, rng)
    store = await ChunkStore.open(url, SPACE)
    queries = list(zip(texts, [v.tolist() for v in vectors], strict=True))

    def calls(mode: SearchMode, tuning: SearchTuning) -> list[Callable[[], Awaitable[Any]]]:
        return [
            # No threshold and no budget: the same hits as exact search would rank, unfiltered.
            functools.partial(
                search,
                store,
                TENANT,
                REPO,
                text,
                vector,
                mode=mode,
                min_score=-1.0,
                token_budget=10**9,
                tuning=tuning,
            )
            for text, vector in queries
        ]

    default = SearchTuning()
    reference = SearchTuning(text_ranking=TextRanking.SUBQUERY)

    async def round_trip() -> None:
        # The floor under every search: a pooled connection and one bare statement.
        async with store.pool.connection() as conn:
            await conn.execute("SELECT 1")

    try:
        await timed({"warm-up": calls(SearchMode.HYBRID, default)[:20]})  # caches, statements
        async with await AsyncConnection.connect(url) as conn:
            await register_vector_async(conn)
            runs = await timed(
                {
                    "select 1": [round_trip] * len(queries),
                    "exact": [functools.partial(exact, conn, v, 6) for v in vectors],
                    "hnsw": calls(SearchMode.VECTOR, default),
                    "hybrid": calls(SearchMode.HYBRID, default),
                    "text": calls(SearchMode.FULLTEXT, default),
                    # before/after: the reference ranking, in the same rounds
                    "hybrid ref": calls(SearchMode.HYBRID, reference),
                    "text ref": calls(SearchMode.FULLTEXT, reference),
                }
                | {
                    f"ef {ef}": calls(SearchMode.VECTOR, SearchTuning(ef_search=ef, candidates=6))
                    for ef in args.ef
                }
                | {
                    f"text {n}": calls(SearchMode.HYBRID, SearchTuning(text_candidates=n))
                    for n in args.text_candidates
                }
            )
        truth = runs["exact"][1]
        print(f"{len(queries)} queries, top 6, {AIMS}; load average {load_average()}")
        report("bare SELECT 1 round trip (the floor)", runs["select 1"][0])
        report(f"HNSW vector (ef_search {default.ef_search})", runs["hnsw"][0],
               f"recall@6 {recall(runs['hnsw'][1], truth):.3f}")  # fmt: skip
        report(f"hybrid (2 x {default.candidates}, RRF, text ranks <= {default.text_candidates})",
               runs["hybrid"][0])  # fmt: skip
        report("full-text only", runs["text"][0])
        # The ranking replaced (text_search.TextRanking.SUBQUERY), measured in the same rounds:
        # its hits must be the same, in the same order, with the same scores.
        for name, label in [("hybrid", "hybrid"), ("text", "full-text only")]:
            same = sum(a == b for a, b in zip(runs[name][1], runs[f"{name} ref"][1], strict=True))
            report(f"  {label}, reference ranking", runs[f"{name} ref"][0],
                   f"same hits {same}/{len(queries)}")  # fmt: skip
        report("exact vector (sequential scan)", runs["exact"][0])
        for ef in args.ef:
            ms, found = runs[f"ef {ef}"]
            report(f"  HNSW ef_search {ef}", ms, f"recall@6 {recall(found, truth):.3f}")
        hybrid_top = [[h.key for h in hits[:6]] for hits in runs["hybrid"][1]]
        for n in args.text_candidates:
            ms, found = runs[f"text {n}"]
            # Not a quality figure (synthetic vectors have no right answer): how far a smaller
            # full-text candidate set moves hybrid's answers from the default's.
            report(
                f"  hybrid, text ranks <= {n}", ms, f"same top 6 {recall(found, hybrid_top):.3f}"
            )
        print("server CPU per search (its backends' time on a CPU, all / the busiest one):")
        for name, mode, tuning in [
            ("HNSW", SearchMode.VECTOR, default),
            ("full-text", SearchMode.FULLTEXT, default),
            ("full-text, reference ranking", SearchMode.FULLTEXT, reference),
            ("hybrid", SearchMode.HYBRID, default),
            ("hybrid, reference ranking", SearchMode.HYBRID, reference),
        ]:
            spent = await server_cpu(url, calls(mode, tuning))
            if spent is None:
                print("  not readable here (a remote server?)")
                break
            every, busiest = spent
            report(f"  {name}, all backends", every)
            report(f"  {name}, busiest backend", busiest)
        await fulltext_quality(store, [default.text_candidates, *args.text_candidates])
    finally:
        await store.close()


async def server_cpu(
    url: str, calls: Sequence[Callable[[], Awaitable[Any]]]
) -> tuple[list[float], list[float]] | None:
    """Per call, the CPU time the database's backends spent on it (nanosecond counters in
    /proc/<pid>/schedstat), summed and on the busiest backend (hybrid's two sides run on two
    connections at once: the busiest is its critical path). Unlike latency, little moved by
    other processes' load (they delay a search, they do not add to its work), so it tells what a
    quiet machine would wait at least. None when the server's processes are not on this host or
    not readable (a remote --url)."""
    async with await AsyncConnection.connect(url) as conn:
        cur = await conn.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        pids = [pid for (pid,) in await cur.fetchall()]
    total: list[float] = []
    busiest: list[float] = []
    for call in calls:
        before = backends_cpu(pids)
        await call()
        after = backends_cpu(pids)
        if before is None or after is None:
            return None
        spent = [a - b for a, b in zip(after, before, strict=True)]
        total.append(sum(spent))
        busiest.append(max(spent))
    return total, busiest


def backends_cpu(pids: Sequence[int]) -> list[float] | None:
    """Seconds each of the given PostgreSQL processes has run on a CPU, or None."""
    seconds = []
    for pid in pids:
        proc = Path(f"/proc/{pid}")
        try:
            if b"postgres" not in (proc / "cmdline").read_bytes():
                return None  # not ours: the server runs elsewhere
            seconds.append(int((proc / "schedstat").read_text().split()[0]) / 1e9)
        except (OSError, ValueError, IndexError):
            return None
    return seconds or None


async def fulltext_quality(store: ChunkStore, caps: Sequence[int]) -> None:
    """httpx's questions asked of all the windows, by words alone (see the module's doc)."""
    corpus = load_corpus(QUESTIONS)
    # The windows' paths start at site-packages: httpx's files are under "httpx/".
    questions = [replace(q, path=f"{corpus.repo}/{q.path}") for q in corpus.questions]
    async with store.pool.connection() as conn:
        cur = await conn.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE tenant = %s AND path LIKE %s").format(
                store.table
            ),
            (TENANT, f"{corpus.repo}/%"),
        )
        row = await cur.fetchone()
    if not row or not row[0]:
        print(f"{corpus.repo} is not among the loaded windows: no full-text quality figure")
        return
    print(f"full-text recall@6 / MRR@6 of {corpus.repo}'s questions among all the windows:")
    for cap in caps:
        ranks: dict[str, list[int | None]] = {part: [] for part in PARTS}
        for question in questions:
            hits = await search(
                store, TENANT, REPO, question.text, None, mode=SearchMode.FULLTEXT,
                tuning=SearchTuning(text_candidates=cap),
            )  # fmt: skip
            ranks[question.part].append(first_right(hits, question))
        parts = "   ".join(f"{part} {scores(found)}" for part, found in ranks.items())
        print(f"  text ranks <= {cap:<5}  {parts}")


def load_average() -> str:
    """The 1/5/15-minute load: on a shared machine, what the figures were measured under."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def recall(found: Sequence[Sequence[Any]], truth: Sequence[Sequence[ChunkKey]]) -> float:
    hits = sum(len({h.key for h in f} & set(t)) for f, t in zip(found, truth, strict=True))
    return hits / sum(len(t) for t in truth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default=os.environ.get("BDG_BENCH_DATABASE_URL"))
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--centres", type=int, default=500)
    parser.add_argument("--ef", type=int, nargs="*", default=[20, 40, 200])
    parser.add_argument("--text-candidates", type=int, nargs="*", default=[1000, 500])
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"load average at start {load_average()} ({os.cpu_count()} cores)")
    with fresh_database(args.url) as url:
        asyncio.run(measure(url, args))
    print(f"whole bench {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
