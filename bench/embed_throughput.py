"""Offline embedding throughput (chunks/s) beside the bare model session on the same windows.

The chunks are the indexer's own: bench.index_corpus's generated repository cut by
bdg_indexer's chunker, the first ``--chunks`` of them. They are embedded the way the indexer
does it (``OfflineEmbedder.embed_sync`` on calls of ``--call`` chunks, every window of each).
The raw limit is the bare onnxruntime session (same model file and options) running exactly
those windows, [CLS]/[SEP] included, sorted by length, at each ``--batches`` size (padding only
to the longest of a batch; batch 1 has none; 0 is the embedder's own runs): the best of them,
in windows/s, is turned into chunks/s at the corpus's windows per chunk. Everything else
(tokenising, pooling, order) is what the embedder adds or saves. All run call by call, each
first in turn, timed by the wall clock and by CPU time (less moved by other processes); the
load average is printed at both ends. On a shared machine the figures move with the load, the
ratios much less. The CPU-time rate times the cores is what an idle machine would give at best.

The static space (``BDG_EMBEDDINGS=offline-static``: MiniLM distilled into a per-token table)
runs no model: its raw limit is the tokenizer alone on the same chunks (what any embedder of
these tokens pays before its own work), measured in the same run, interleaved the same way,
over ``--static-chunks`` chunks (its table is made first when BDG_HOME/models lacks it).

    uv run python -m bench.embed_throughput [--chunks 96] [--call 64] [--batches 0,1,8,32]
        [--static-chunks 2000] [--spaces minilm static]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bdg_indexer.chunking.chunker import chunk_file
from bdg_indexer.chunking.languages import language_for_path
from bdg_indexer.chunks import SourceFile
from bdg_llm.embeddings import (
    MAX_TOKENS,
    OfflineEmbedder,
    length_batches,
    model_session,
    windows_of,
)
from bdg_llm.static_embeddings import StaticEmbedder, models_dir
from bench.index_corpus import generate

AIM = "aim: >= 100 chunks/s (issue 20, item 7)"


def corpus_chunks(count: int) -> list[str]:
    """The first ``count`` chunk texts of the generated repository (enough files for them)."""
    with tempfile.TemporaryDirectory(prefix="bdg-bench-embed-") as tmp:
        files = generate(Path(tmp), max(count // 2, 10))
    texts: list[str] = []
    for path, text in sorted(files.items()):
        source = SourceFile(path, "0" * 40, language_for_path(path), text)
        texts += [chunk.text for chunk in chunk_file(source)]
    return texts[:count]


def bare_seconds(model: Any, windows: list[list[int]], batch: int) -> tuple[float, float]:
    """Wall and CPU seconds the bare session takes over ``windows`` sorted by length, in runs of
    ``batch`` (0: in the embedder's own runs, length_batches)."""
    ordered = sorted(windows, key=len, reverse=True)
    if batch:
        grouped = [ordered[start : start + batch] for start in range(0, len(ordered), batch)]
    else:
        grouped = [[ordered[i] for i in run] for run in length_batches([len(w) for w in ordered])]
    runs = []
    for run in grouped:
        ids = np.zeros((len(run), len(run[0])), dtype=np.int64)  # [PAD] is 0
        mask = np.zeros_like(ids)
        for row, window in enumerate(run):
            ids[row, : len(window)] = window
            mask[row, : len(window)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        runs.append(feeds)
    started, cpu = time.perf_counter(), time.process_time()
    for feeds in runs:
        model.run(None, feeds)
    return time.perf_counter() - started, time.process_time() - cpu


def windows_of_texts(embedder: OfflineEmbedder, texts: list[str]) -> list[list[int]]:
    cls, sep = 101, 102  # the tokenizer's [CLS]/[SEP]
    return [
        [cls, *piece, sep]
        for ids in embedder.token_ids(texts)
        for piece in windows_of(ids, MAX_TOKENS - 2)
    ]


def static_space(args: argparse.Namespace) -> None:
    """The static embedder beside the bare tokenizer on the same chunks, call by call."""
    texts = corpus_chunks(args.static_chunks)
    embedder = StaticEmbedder(models_dir())
    started = time.perf_counter()
    embedder.embed_sync(texts[:2])  # loads (or distills) the table
    print(f"static: {len(texts)} chunks; table ready in {time.perf_counter() - started:.1f} s")
    tokenizer = embedder.tokenizer()
    spent = {"embedder": [0.0, 0.0], "tokenizer": [0.0, 0.0]}
    for number, start in enumerate(range(0, len(texts), args.call)):
        call = texts[start : start + args.call]
        ways = ["embedder", "tokenizer"][:: 1 if number % 2 == 0 else -1]
        for way in ways:
            started, cpu = time.perf_counter(), time.process_time()
            if way == "embedder":
                embedder.embed_array(call)
            else:
                tokenizer.encode_batch(call, add_special_tokens=False)
            spent[way][0] += time.perf_counter() - started
            spent[way][1] += time.process_time() - cpu
    rate, limit = (len(texts) / spent[w][0] for w in ("embedder", "tokenizer"))
    print(
        f"static embedder: {rate:.1f} chunks/s, {len(texts) / spent['embedder'][1]:.1f} chunks "
        f"per CPU second; raw limit (bare tokenizer): {limit:.1f} chunks/s, "
        f"{len(texts) / spent['tokenizer'][1]:.1f} per CPU second; embedder at {rate / limit:.0%}"
        f" of it; load average {os.getloadavg()[0]:.1f}"
    )


def main(args: argparse.Namespace) -> None:
    if "static" in args.spaces:
        static_space(args)
    if "minilm" in args.spaces:
        minilm_space(args)
    print(AIM)


def minilm_space(args: argparse.Namespace) -> None:
    texts = corpus_chunks(args.chunks)
    embedder = OfflineEmbedder()
    threads = embedder.threads
    windows = windows_of_texts(embedder, texts)
    per_chunk = len(windows) / len(texts)
    print(
        f"{len(texts)} chunks, {len(windows)} windows ({per_chunk:.2f} per chunk), "
        f"{sum(len(w) for w in windows)} tokens; {threads} threads on {os.cpu_count()} cores; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    model = model_session(threads)  # the embedder's options: only its own work differs
    embedder.embed_sync(texts[:2])  # load both and warm them up
    bare_seconds(model, windows[:2], 1)
    # Call by call, the embedder then the bare session on the same windows: on a shared
    # machine the load drifts, and interleaving lets both see the same load.
    # CPU seconds too: less moved by the load than wall time (threads that spin count in both).
    spent, cpu = 0.0, 0.0
    bare = {batch: (0.0, 0.0) for batch in args.batches}
    ways: list[int | None] = [None, *args.batches]  # None: the embedder
    for number, start in enumerate(range(0, len(texts), args.call)):
        call = texts[start : start + args.call]
        shift = number % len(ways)  # each goes first in turn: none always meets the same load
        for way in ways[shift:] + ways[:shift]:
            if way is None:
                started, cpu_started = time.perf_counter(), time.process_time()
                embedder.embed_sync(call)
                spent += time.perf_counter() - started
                cpu += time.process_time() - cpu_started
            else:
                wall, used = bare_seconds(model, windows_of_texts(embedder, call), way)
                bare[way] = (bare[way][0] + wall, bare[way][1] + used)
    rate = len(texts) / spent
    padding = embedder.padded_tokens / max(embedder.tokens, 1)
    print(
        f"embedder: {rate:.2f} chunks/s = {rate * per_chunk:.2f} windows/s, "
        f"{len(texts) / cpu:.2f} chunks per CPU second (padded/real tokens {padding:.3f})"
    )
    for batch, (wall, used) in bare.items():
        name = f"batch {batch:3}" if batch else "the embedder's runs"
        print(
            f"bare session, {name}: {len(windows) / wall:.2f} windows/s = "
            f"{len(texts) / wall:.2f} chunks/s, {len(texts) / used:.2f} chunks per CPU second"
        )
    best = min(bare, key=lambda b: bare[b][0])
    limit, cpu_limit = len(texts) / bare[best][0], len(texts) / bare[best][1]
    print(
        f"raw limit (bare session, {f'batch {best}' if best else 'runs'}): {limit:.2f} chunks/s;"
        f" embedder at {rate / limit:.0%} of it by wall time, "
        f"{len(texts) / cpu / cpu_limit:.0%} by CPU time; load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=96)
    parser.add_argument("--call", type=int, default=64, help="chunks per embed call")
    parser.add_argument("--static-chunks", type=int, default=2000)
    parser.add_argument(
        "--spaces", nargs="+", choices=("minilm", "static"), default=["static", "minilm"]
    )
    parser.add_argument(
        "--batches",
        type=lambda s: [int(b) for b in s.split(",")],
        default=[0, 1, 8, 32],
        help="bare session batch sizes to try (0: the embedder's own runs)",
    )
    main(parser.parse_args())
