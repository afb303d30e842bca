"""What keeping the full-text term counts costs a batch upsert, beside upserts that keep none.

Two fresh embedding spaces take the same batches of real chunk texts (16-line windows of the
installed Python files, bench.search_latency.windows) with random vectors, batch by batch in
turn so a burst of load hits both alike: one with the term-delta triggers (spaces._term_counts),
one with them disabled (the raw limit: the upsert alone). Times are the server's (EXPLAIN
ANALYZE of the indexer's own upsert statement), less moved by the client's scheduling on a
loaded machine. Then the fold of the deltas into the counts, as the indexer does every 512
chunks and at a run's end, is timed with its VACUUM. By default without the HNSW index (what
a COPY or a bulk load sees; with it, inserting into the graph dominates every figure):
``--hnsw`` keeps it.

    uv run python -m bench.term_counts_cost [--chunks 3200] [--batch 64] [--hnsw]
Without --url (or BDG_BENCH_DATABASE_URL) it starts an embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid

import numpy as np
from pgvector import Vector
from psycopg import sql

from bdg_indexer.storage.spaces import EmbeddingSpace
from bdg_indexer.storage.vectors import _UPSERT, ChunkStore
from bench.fresh_postgres import fresh_database
from bench.search_latency import DIMS, load_average, windows

WAYS = ("deltas", "none")  # the triggers on; the raw limit, no counting at all


async def open_space(url: str, way: str, hnsw: bool) -> ChunkStore:
    store = await ChunkStore.open(url, EmbeddingSpace(f"bench-{way}-{uuid.uuid4().hex[:8]}", DIMS))
    async with store.pool.connection() as conn:
        if not hnsw:
            index = sql.Identifier(f"{store.space.table}_hnsw")
            await conn.execute(sql.SQL("DROP INDEX {}").format(index))
        if way == "none":
            await conn.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(store.table))
    return store


async def measure(url: str, args: argparse.Namespace) -> None:
    rng = np.random.default_rng(1)
    texts = list(windows(args.chunks))
    stores = {way: await open_space(url, way, args.hnsw) for way in WAYS}
    server = dict.fromkeys(WAYS, 0.0)
    explain = sql.SQL("EXPLAIN (ANALYZE, FORMAT JSON) " + _UPSERT)
    try:
        for number, start in enumerate(range(0, len(texts), args.batch)):
            batch = texts[start : start + args.batch]
            params = {
                "tenant": "bench",
                "repo": "bench",
                "paths": [path for path, _, _ in batch],
                "blobs": ["b"] * len(batch),
                "numbers": [chunk_no for _, chunk_no, _ in batch],
                "starts": [1] * len(batch),
                "ends": [16] * len(batch),
                "languages": ["python"] * len(batch),
                "tokens": [len(text) // 4 for _, _, text in batch],
                "contents": [text for _, _, text in batch],
                "embeddings": [Vector(rng.standard_normal(DIMS).tolist()).to_text() for _ in batch],
            }
            for way in WAYS[number % 2 :] + WAYS[: number % 2]:  # each first in turn
                async with stores[way].pool.connection() as conn:
                    cur = await conn.execute(explain.format(table=stores[way].table), params)
                    row = await cur.fetchone()
                    assert row is not None
                    server[way] += row[0][0]["Execution Time"] / 1000
        started = time.perf_counter()
        await stores["deltas"].fold_term_counts("bench", "bench")
        fold = time.perf_counter() - started
    finally:
        for store in stores.values():
            await store.close()
    n, raw = len(texts), server["none"]
    print(
        f"{n} chunks in batches of {args.batch}, {'with' if args.hnsw else 'without'} the HNSW "
        f"index; load average {load_average()} ({os.cpu_count()} cores)"
    )
    print(f"raw limit, upserts keeping no counts: {n / raw:7.0f} chunks/s (server time)")
    print(
        f"upserts appending term deltas:        {n / server['deltas']:7.0f} chunks/s "
        f"(time {server['deltas'] / raw - 1:+.0%})"
    )
    total = server["deltas"] + fold
    print(
        f"  and one fold of them (with VACUUM):  {n / total:7.0f} chunks/s "
        f"(time {total / raw - 1:+.0%}; the fold {fold * 1000:.0f} ms, wall)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("BDG_BENCH_DATABASE_URL"))
    parser.add_argument("--chunks", type=int, default=3200)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--hnsw", action="store_true")
    args = parser.parse_args()
    with fresh_database(args.url) as url:
        asyncio.run(measure(url, args))


if __name__ == "__main__":
    main()
