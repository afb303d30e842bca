"""Retrieval quality of code search on a codebase nobody here wrote: the installed httpx.

Indexes httpx's source with the offline embedder (all-MiniLM-L6-v2) and asks the questions of
bench/data/retrieval_httpx.json, each with its answer (a file and the symbols whose lines
answer it). Prints recall@6 (a right chunk among the first 6) and MRR@6 for vector-only,
full-text-only and hybrid search, and the similarities of right and wrong chunks (the ground for
search.DEFAULT_MIN_SIMILARITY).

    uv run python -m bench.retrieval_quality [--url postgresql://...] [--verbose]
Without --url (or BDG_BENCH_DATABASE_URL) it starts an embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import hashlib
import importlib.util
import json
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bdg_indexer.chunks import Chunk, SourceFile
from bdg_indexer.search.code_search import SearchMode, search
from bdg_indexer.search.ranking import SearchHit
from bdg_indexer.storage.spaces import EmbeddingSpace
from bdg_indexer.storage.vectors import ChunkStore
from bdg_llm.embeddings import OfflineEmbedder
from bdg_llm.tokens import count_text
from bench.fresh_postgres import fresh_database

QUESTIONS = Path(__file__).parent / "data" / "retrieval_httpx.json"
TENANT, REPO = "bench", "httpx"
K = 6


@dataclass(frozen=True)
class Question:
    text: str
    path: str
    ranges: tuple[tuple[int, int], ...]

    def answered_by(self, hit: SearchHit) -> bool:
        return hit.path == self.path and any(
            hit.start_line <= end and start <= hit.end_line for start, end in self.ranges
        )


def symbol_ranges(source: str, symbols: Sequence[str]) -> tuple[tuple[int, int], ...]:
    """Line ranges of ``Class.method`` / ``function`` / ``Class`` (all defs of that name,
    so a property's getter and setter both count)."""
    found: list[tuple[int, int]] = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if name in symbols:
                    found.append((child.lineno, child.end_lineno or child.lineno))
                walk(child, f"{name}.")

    walk(ast.parse(source), "")
    return tuple(found)


def package_files(package: str) -> list[SourceFile]:
    spec = importlib.util.find_spec(package)
    assert spec, f"{package} is not installed"
    assert spec.submodule_search_locations, f"{package} is not a package"
    root = Path(next(iter(spec.submodule_search_locations)))
    files = []
    for file in sorted(root.rglob("*.py")):
        text = file.read_text()
        blob = hashlib.sha1(f"blob {len(text.encode())}\0".encode() + text.encode()).hexdigest()
        files.append(SourceFile(file.relative_to(root).as_posix(), blob, "python", text))
    return files


def load_questions(files: Sequence[SourceFile]) -> list[Question]:
    by_path = {f.path: f.text for f in files}
    questions = []
    for item in json.loads(QUESTIONS.read_text())["questions"]:
        ranges = symbol_ranges(by_path[item["path"]], item["symbols"])
        assert ranges, f"none of {item['symbols']} in {item['path']}"
        questions.append(Question(item["q"], item["path"], ranges))
    return questions


def line_windows(source: SourceFile, lines: int = 40) -> list[Chunk]:
    """Fallback chunker (fixed windows of lines) while bdg_indexer.chunking is not there."""
    all_lines = source.text.splitlines(keepends=True)
    chunks = []
    for number, start in enumerate(range(0, len(all_lines), lines)):
        text = "".join(all_lines[start : start + lines])
        end = min(start + lines, len(all_lines))
        tokens = count_text(text)
        chunks.append(
            Chunk(source.path, source.blob_sha, number, start + 1, end, "python", tokens, text)
        )
    return chunks


def pick_chunker(name: str, max_tokens: int) -> tuple[str, Callable[[SourceFile], list[Chunk]]]:
    if name == "lines":
        return "40-line windows", line_windows
    try:
        from bdg_indexer.chunking.chunker import (
            chunk_file,  # another helper's module; may not exist yet
        )
    except ImportError:
        if name == "chunking":
            raise
        return "40-line windows (bdg_indexer.chunking not found)", line_windows
    return f"bdg_indexer.chunking, max {max_tokens} tokens", lambda f: chunk_file(f, max_tokens)


def first_right(hits: Sequence[SearchHit], question: Question) -> int | None:
    return next((n for n, h in enumerate(hits, 1) if question.answered_by(h)), None)


async def evaluate(url: str, args: argparse.Namespace) -> None:
    files = package_files("httpx")
    questions = load_questions(files)
    label, chunker = pick_chunker(args.chunker, args.max_tokens)
    chunks = [c for f in files for c in chunker(f)]
    print(f"httpx: {len(files)} files, {len(chunks)} chunks ({label}), {len(questions)} questions")
    embedder = OfflineEmbedder()
    started = time.perf_counter()
    vectors = await embedder.embed([c.text for c in chunks])
    elapsed = time.perf_counter() - started
    print(f"embedded in {elapsed:.1f}s ({len(chunks) / elapsed:.1f} chunks/s)")
    store = await ChunkStore.open(url, EmbeddingSpace(embedder.model_name, embedder.dims))
    try:
        await store.upsert(TENANT, REPO, list(zip(chunks, vectors, strict=True)))
        query_vectors = await embedder.embed([q.text for q in questions])
        print(f"{'mode':<10} recall@{K}   MRR@{K}")
        for mode in SearchMode:
            ranks = []
            for question, vector in zip(questions, query_vectors, strict=True):
                hits = await search(
                    store, TENANT, REPO, question.text, vector, mode=mode, limit=K,
                    token_budget=10**9, min_score=args.min_score,
                )  # fmt: skip
                ranks.append(first_right(hits, question))
                if args.verbose and ranks[-1] != 1:
                    print(f"  {mode.value:<8} {ranks[-1]}  {question.text}")
                    for h in hits[:3]:
                        print(f"      {h.path}:{h.start_line}-{h.end_line} {h.score:.3f}")
            recall = sum(r is not None for r in ranks) / len(ranks)
            mrr = sum(1 / r for r in ranks if r is not None) / len(ranks)
            print(f"{mode.value:<10} {recall:8.3f}  {mrr:7.3f}")
        await similarities(store, questions, query_vectors)
    finally:
        await store.close()


async def similarities(
    store: ChunkStore, questions: Sequence[Question], vectors: Sequence[Sequence[float]]
) -> None:
    """Cosine similarity of the best right chunk and of wrong chunks among the top 50."""
    right, wrong = [], []
    for question, vector in zip(questions, vectors, strict=True):
        hits = await search(
            store, TENANT, REPO, "", vector, mode=SearchMode.VECTOR, limit=50,
            token_budget=10**9, min_score=-1.0,
        )  # fmt: skip
        sims = [(question.answered_by(h), h.similarity or 0.0) for h in hits]
        right += [max((s for ok, s in sims if ok), default=0.0)]
        wrong += [s for ok, s in sims if not ok]

    def spread(values: list[float]) -> str:
        q = statistics.quantiles(values, n=20)
        return f"p5 {q[0]:.2f}  median {statistics.median(values):.2f}  p95 {q[-1]:.2f}"

    print(f"similarity of the best right chunk:  {spread(right)}")
    print(f"similarity of wrong chunks (top 50): {spread(wrong)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default=os.environ.get("BDG_BENCH_DATABASE_URL"))
    parser.add_argument("--chunker", choices=["auto", "chunking", "lines"], default="auto")
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--min-score", type=float, default=0.2)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    with fresh_database(args.url) as url:
        asyncio.run(evaluate(url, args))


if __name__ == "__main__":
    main()
