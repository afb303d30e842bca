"""Retrieval quality of code search on codebases nobody here wrote: httpx (Python) and axios
(JavaScript).

Indexes both with the offline embedder (all-MiniLM-L6-v2) and with its static distillation
(``--spaces``; each its own table, same run), and asks the questions of
bench/data/retrieval_*.json, each with its answer (a file and the symbols or lines that answer
it); a repository's questions search that repository only. Every question is in the ``dev`` part
(tune on it) or the ``heldout`` part (never tune on it), by a fixed rule on its text (see
``split_of``). Prints recall@6 (a right chunk among the first 6) and MRR@6 for vector-only,
full-text-only and hybrid search, for each part; beside them, the limits measured in the same
run: the hybrid ceiling (an answer among the candidates fusion sees: no fusion can do better),
the bare embedding throughput, and how many chunks are longer than the model's window.

    uv run python -m bench.retrieval_quality [--url postgresql://...] [--verbose]
Without --url (or BDG_BENCH_DATABASE_URL) it starts an embedded PostgreSQL. The axios tarball is
downloaded once from the npm registry into ~/.cache/bdg-bench and checked by its sha512.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bdg_indexer.chunking.chunker import chunk_file
from bdg_indexer.chunks import SourceFile
from bdg_indexer.search.code_search import Fusion, SearchMode, SearchTuning, search
from bdg_indexer.search.ranking import SearchHit
from bdg_indexer.storage.spaces import EmbeddingSpace
from bdg_indexer.storage.vectors import ChunkStore
from bdg_llm.embeddings import OfflineEmbedder
from bdg_llm.static_embeddings import StaticEmbedder, models_dir
from bench.fresh_postgres import fresh_database
from bench.retrieval_corpora import NpmPackage, npm_files, python_files, symbol_ranges

DATA = Path(__file__).parent / "data"
TENANT = "bench"
K = 6
PARTS = ("dev", "heldout")
SPACES = ("minilm", "static")  # the offline model, and its distilled static table
BenchEmbedder = OfflineEmbedder | StaticEmbedder


def split_of(question: str) -> str:
    """The fixed rule: held out when sha256 of the text starts with a hex digit 0-7 (about
    half). A new question lands in a part by its words alone, never by choice."""
    return "heldout" if hashlib.sha256(question.encode()).hexdigest()[0] in "01234567" else "dev"


@dataclass(frozen=True)
class Question:
    repo: str
    text: str
    path: str
    ranges: tuple[tuple[int, int], ...]
    part: str

    def answered_by(self, hit: SearchHit) -> bool:
        return hit.path == self.path and any(
            hit.start_line <= end and start <= hit.end_line for start, end in self.ranges
        )


@dataclass(frozen=True)
class Corpus:
    repo: str
    files: list[SourceFile]
    questions: list[Question]


def load_corpus(data: Path) -> Corpus:
    spec = json.loads(data.read_text())
    if spec.get("language") == "javascript":
        package = NpmPackage(spec["package"], spec["version"], spec["integrity"], spec["root"])
        files = npm_files(package)
    else:
        files = python_files(spec["package"])
    by_path = {f.path: f for f in files}
    questions = []
    for item in spec["questions"]:
        if item["split"] != split_of(item["q"]):
            raise SystemExit(f"{data.name}: {item['q']!r} is in the wrong part (see split_of)")
        source = by_path[item["path"]]
        if "lines" in item:
            ranges = tuple((start, end) for start, end in item["lines"])
        else:
            ranges = symbol_ranges(source, item["symbols"])
        assert ranges, f"none of {item.get('symbols')} in {item['path']}"
        questions.append(Question(spec["package"], item["q"], item["path"], ranges, item["split"]))
    return Corpus(spec["package"], files, questions)


def first_right(hits: Sequence[SearchHit], question: Question) -> int | None:
    return next((n for n, h in enumerate(hits, 1) if question.answered_by(h)), None)


def scores(ranks: Sequence[int | None]) -> str:
    recall = sum(r is not None for r in ranks) / len(ranks)
    mrr = sum(1 / r for r in ranks if r is not None) / len(ranks)
    return f"{recall:6.3f} {mrr:6.3f}"


async def evaluate(url: str, args: argparse.Namespace) -> None:
    corpora = [load_corpus(DATA / f"retrieval_{name}.json") for name in args.repos]
    for name in args.spaces:  # each its own table, in the same database and run
        print(f"== {name}")
        await evaluate_space(url, space_embedder(name, args), corpora, args)


def space_embedder(name: str, args: argparse.Namespace) -> BenchEmbedder:
    if name == "static":
        return StaticEmbedder(models_dir())
    return OfflineEmbedder(max_windows=args.max_windows)


async def evaluate_space(
    url: str, embedder: BenchEmbedder, corpora: Sequence[Corpus], args: argparse.Namespace
) -> None:
    tuning = SearchTuning(
        rrf_k=args.rrf_k,
        vector_weight=args.vector_weight,
        text_weight=args.text_weight,
        fusion=Fusion(args.fusion),
        text_candidates=args.text_candidates,
    )
    store = await ChunkStore.open(url, EmbeddingSpace(embedder.model_name, embedder.dims))
    try:
        await index(store, embedder, corpora, args)
        questions = [q for c in corpora for q in c.questions]
        vectors = await embedder.embed([q.text for q in questions])
        ranks: dict[SearchMode, list[int | None]] = {}
        for mode in SearchMode:
            ranks[mode] = []
            for question, vector in zip(questions, vectors, strict=True):
                hits = await search(
                    store, TENANT, question.repo, question.text, vector, mode=mode, limit=K,
                    min_score=args.min_score, tuning=tuning,
                )  # fmt: skip
                ranks[mode].append(first_right(hits, question))
                if args.verbose and ranks[mode][-1] != 1 and question.part == "dev":
                    print(f"  {mode.value:<8} {ranks[mode][-1]}  {question.text}")
                    for h in hits[:3]:
                        print(f"      {h.path}:{h.start_line}-{h.end_line} {h.score:.3f}")
        if args.sweep:
            await sweep(store, [q for q in questions if q.part == "dev"], vectors, questions, args)
        ceiling = await candidate_ceiling(store, questions, vectors, tuning, args.min_score)
        report(questions, ranks, ceiling)
        await similarities(store, questions, vectors)
    finally:
        await store.close()


async def index(
    store: ChunkStore,
    embedder: BenchEmbedder,
    corpora: Sequence[Corpus],
    args: argparse.Namespace,
) -> None:
    for corpus in corpora:
        chunks = [c for f in corpus.files for c in chunk_file(f, args.max_tokens)]
        texts = [c.text for c in chunks]
        started = time.perf_counter()
        vectors = await embedder.embed(texts)
        elapsed = time.perf_counter() - started
        over = sum(len(ids) > embedder.window_tokens - 2 for ids in embedder.token_ids(texts))
        print(
            f"{corpus.repo}: {len(corpus.files)} files, {len(chunks)} chunks (max "
            f"{args.max_tokens} cl100k tokens), {over} longer than the model's window of "
            f"{embedder.window_tokens}; embedded at {len(chunks) / elapsed:.1f} chunks/s "
            f"(max {args.max_windows or 'all'} windows each)"
        )
        await store.upsert(TENANT, corpus.repo, list(zip(chunks, vectors, strict=True)))


SWEEP = [
    *(SearchTuning(rrf_k=k, text_weight=w) for k in (10, 30, 60) for w in (0.5, 1.0, 1.5, 2.0)),
    *(SearchTuning(fusion=Fusion.SCORES, text_weight=w) for w in (0.25, 0.5, 0.75, 1.0, 1.5)),
]


async def sweep(
    store: ChunkStore,
    dev: Sequence[Question],
    vectors: Sequence[Sequence[float]],
    questions: Sequence[Question],
    args: argparse.Namespace,
) -> None:
    """Hybrid on the dev part only, for each tuning of SWEEP: what defaults are chosen on."""
    by_text = dict(zip((q.text for q in questions), vectors, strict=True))
    for tuning in SWEEP:
        ranks = []
        for question in dev:
            hits = await search(
                store, TENANT, question.repo, question.text, by_text[question.text], limit=K,
                min_score=args.min_score, tuning=tuning,
            )  # fmt: skip
            ranks.append(first_right(hits, question))
        name = f"{tuning.fusion.value} k={tuning.rrf_k} text weight {tuning.text_weight}"
        print(f"dev sweep  {name:<36} {scores(ranks)}")


async def candidate_ceiling(
    store: ChunkStore,
    questions: Sequence[Question],
    vectors: Sequence[Sequence[float]],
    tuning: SearchTuning,
    min_score: float,
) -> list[int | None]:
    """1 when an answer is among the candidates hybrid search fuses (either side), else None."""
    found: list[int | None] = []
    for question, vector in zip(questions, vectors, strict=True):
        seen = False
        for mode in (SearchMode.VECTOR, SearchMode.FULLTEXT):
            hits = await search(
                store, TENANT, question.repo, question.text, vector, mode=mode,
                limit=tuning.candidates, min_score=min_score,
            )  # fmt: skip
            seen = seen or first_right(hits, question) is not None
        found.append(1 if seen else None)
    return found


def report(
    questions: Sequence[Question],
    ranks: dict[SearchMode, list[int | None]],
    ceiling: list[int | None],
) -> None:
    groups = [(part, [q.part == part for q in questions]) for part in PARTS]
    for repo in sorted({q.repo for q in questions}):
        groups.append((f"{repo} (both)", [q.repo == repo for q in questions]))
    groups.append(("all", [True] * len(questions)))
    print(f"{'part':<16}{'n':>4}  " + "  ".join(f"{m.value:>13}" for m in SearchMode), end="")
    print(f"  {'hybrid ceiling':>14}")
    print(f"{'':<16}{'':>4}  " + "  ".join(f"{'R@6':>6} {'MRR':>6}" for _ in SearchMode))
    for name, chosen in groups:
        cells = [
            scores([r for r, c in zip(ranks[m], chosen, strict=True) if c]) for m in SearchMode
        ]
        top = [r for r, c in zip(ceiling, chosen, strict=True) if c]
        line = f"{name:<16}{sum(chosen):>4}  " + "  ".join(cells)
        print(line + f"  {sum(r is not None for r in top) / len(top):14.3f}")


async def similarities(
    store: ChunkStore, questions: Sequence[Question], vectors: Sequence[Sequence[float]]
) -> None:
    """Cosine similarity of the best right chunk and of wrong chunks among the top 50."""
    right, wrong = [], []
    for question, vector in zip(questions, vectors, strict=True):
        hits = await search(
            store, TENANT, question.repo, "", vector, mode=SearchMode.VECTOR, limit=50,
            min_score=-1.0,
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
    parser.add_argument("--repos", nargs="+", default=["httpx", "axios"])
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument(
        "--max-windows", type=int, default=None, help="1: embed a chunk's first window only"
    )
    parser.add_argument(
        "--spaces", nargs="+", choices=SPACES, default=list(SPACES), help="embedding spaces"
    )
    parser.add_argument("--min-score", type=float, default=0.2)
    parser.add_argument("--rrf-k", type=int, default=SearchTuning.rrf_k)
    parser.add_argument("--vector-weight", type=float, default=SearchTuning.vector_weight)
    parser.add_argument("--text-weight", type=float, default=SearchTuning.text_weight)
    parser.add_argument("--fusion", choices=[f.value for f in Fusion], default=Fusion.RRF.value)
    parser.add_argument("--text-candidates", type=int, default=SearchTuning.text_candidates)
    parser.add_argument("--sweep", action="store_true", help="hybrid tunings on the dev part")
    parser.add_argument("--verbose", action="store_true", help="misses of the dev part")
    args = parser.parse_args()
    with fresh_database(args.url) as url:
        asyncio.run(evaluate(url, args))


if __name__ == "__main__":
    main()
