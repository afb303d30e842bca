"""The reviewer on changes whose worth is known, dev and held-out halves apart.

    uv run python -m bench.review_eval [--size 1.5b] [--split dev|heldout|all] [--json FILE]

Each agent task's solution.patch passes its hidden tests: the reviewer should approve it. Each
patch under bench/review_cases/ (named for its task; its first line says what is wrong) does
part of the goal and fails the task's hidden tests (tests/integration/test_agent_tasks_valid.py
proves both): the reviewer should reject it. A done-but-wrong job is a wrong change the
reviewer approved; a rejected right one sends a solved job back to the coder.

The reviewer is the planner's own (prompt, schema, token cap) on the offline model served as
`bdg up` serves it; the plan it is shown is the goal as one step (the same for every variant,
so only the reviewer differs). Prints each verdict, then per half: right changes approved,
wrong ones rejected, tokens and seconds, beside the server's own prompt and generation speed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from bdg_llm.journal import journal
from bdg_llm.local_model import LocalModelConfig, resolve_model
from bdg_llm.local_server import start
from bdg_llm.openai_client import OpenAiClient
from bdg_llm.settings import LlmSettings
from bdg_planner.domain import ReviewTask, job_change
from bdg_planner.llm_adapters import LlmReviewer
from bdg_runtime.local_llm import server_options, service_env
from bench.agent_tasks.tasks import SPLITS, AgentTask, load_tasks, split_of

CASES = Path(__file__).resolve().parent / "review_cases"
_TIMINGS = re.compile(r"(prompt eval|\s{2,}eval) time =\s+([\d.]+) ms /\s+(\d+) tokens")


@dataclass(frozen=True)
class ReviewCase:
    task_id: str
    right: bool
    why: str  # what is wrong with the change ("" for a task's solution)
    patch: str

    @property
    def split(self) -> str:
        return split_of(self.task_id)


def wrong_changes(root: Path = CASES) -> list[ReviewCase]:
    """bench/review_cases/<task id>.patch: its first line says what is wrong, then the diff."""
    cases = []
    for path in sorted(root.glob("*.patch")):
        why, _, patch = path.read_text(encoding="utf-8").partition("\n")
        cases.append(ReviewCase(path.stem, False, why.strip(), patch))
    return cases


def review_cases(tasks: Sequence[AgentTask]) -> list[ReviewCase]:
    right = [ReviewCase(t.id, True, "", t.solution()) for t in tasks]
    return right + [c for c in wrong_changes() if c.task_id in {t.id for t in tasks}]


@dataclass(frozen=True)
class Verdict:
    task_id: str
    split: str
    right: bool
    approved: bool
    score: int
    notes: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float


async def review_all(cases: Sequence[ReviewCase], goals: dict[str, str]) -> list[Verdict]:
    reviewer = LlmReviewer(OpenAiClient(LlmSettings()))
    verdicts = []
    for case in cases:
        goal = goals[case.task_id]
        task = ReviewTask(goal, f"- [ ] {goal}\n", 1, 1, job_change([case.patch]))
        began = time.perf_counter()
        with journal() as calls:
            review = await reviewer.review(task)
        seconds = time.perf_counter() - began
        verdict = Verdict(
            case.task_id,
            case.split,
            case.right,
            review.approved,
            review.score,
            review.notes,
            sum(r.prompt_tokens for _, r in calls),
            sum(r.completion_tokens for _, r in calls),
            seconds,
        )
        verdicts.append(verdict)
        kind = "right" if case.right else f"wrong ({case.why})"
        said = "approved" if review.approved else "rejected"
        good = review.approved == case.right
        print(
            f"{case.task_id:28} {kind[:60]:60} {said} {review.score:>2} "
            f"{'ok' if good else 'MISS'}  {seconds:5.1f} s",
            flush=True,
        )
    return verdicts


def summary(verdicts: Sequence[Verdict]) -> list[str]:
    lines = []
    for split in SPLITS:
        half = [v for v in verdicts if v.split == split]
        if not half:
            continue
        right = [v for v in half if v.right]
        wrong = [v for v in half if not v.right]
        lines.append(
            f"{split}: right changes approved {sum(v.approved for v in right)}/{len(right)}, "
            f"wrong ones rejected {sum(not v.approved for v in wrong)}/{len(wrong)}; "
            f"{sum(v.prompt_tokens for v in half):,} prompt and "
            f"{sum(v.completion_tokens for v in half):,} answer tokens, "
            f"{sum(v.seconds for v in half):.0f} s"
        )
    return lines


def server_speed(log: Path) -> str:
    """llama.cpp's own timings over the run: the raw limit of this machine."""
    read = {"prompt eval": [0.0, 0], "eval": [0.0, 0]}
    for found in _TIMINGS.finditer(log.read_text(encoding="utf-8", errors="replace")):
        kind = found[1].strip()
        read[kind][0] += float(found[2])
        read[kind][1] += int(found[3])
    (p_ms, p_tok), (g_ms, g_tok) = read["prompt eval"], read["eval"]
    return (
        f"server: read {p_tok:,} prompt tokens at {p_tok / max(p_ms / 1000, 1e-9):.1f} tokens/s, "
        f"wrote {g_tok:,} at {g_tok / max(g_ms / 1000, 1e-9):.1f} tokens/s"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1.5b", choices=("0.5b", "1.5b"))
    parser.add_argument("--split", default="dev", choices=(*SPLITS, "all"))
    parser.add_argument("--models-dir", type=Path, default=Path(".bdg/models"))
    parser.add_argument("--json", type=Path, help="write every verdict here")
    args = parser.parse_args(argv)
    tasks = [t for t in load_tasks() if args.split in ("all", t.split)]
    config = LocalModelConfig(size=args.size)
    model = resolve_model(config, args.models_dir)
    log = args.models_dir / "review-eval-server.log"
    with start(model, log, server_options(config, args.models_dir)) as server:
        os.environ.update(service_env(server, {}))
        verdicts = asyncio.run(review_all(review_cases(tasks), {t.id: t.goal for t in tasks}))
    for line in [*summary(verdicts), server_speed(log)]:
        print(line)
    if args.json:
        args.json.write_text(json.dumps([asdict(v) for v in verdicts], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
