"""llama.cpp's speculative decoding on the offline model, per mode, on the requests a job sends.

The requests: the whole-symbol rewrites captured from the model (``tests/unit/data/
rewrite_answers``: the coder's prompts, which show the definition an answer mostly copies) and,
for each of their goals, a plan asked as the planner asks it (little to copy). Each mode
(``bdg_llm.local_server.SPECULATIVE``) gets a server of its own and the same requests, at
temperature 0 with the coder's seed, in the same order; printed per mode and kind: generation
tokens/s (llama.cpp's timings), the seconds of the requests end to end, drafts accepted, and how
many answers are the same text as without speculation. The mode "none" is the raw limit of the
same run: the model on this hardware decoding one token at a time.

    uv run python -m bench.speculative [--size 1.5b] [--modes none,ngram-simple,ngram-mod,draft]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openai import AsyncOpenAI

from bdg_coder.pipeline.prompts import REWRITE_SYSTEM
from bdg_llm.local_model import SPECULATIVE, LocalModelConfig, resolve_model
from bdg_llm.local_server import ServerOptions, start
from bdg_planner.prompts import PLANNER_STEPS

CAPTURED = Path(__file__).parent.parent / "tests" / "unit" / "data" / "rewrite_answers"
KEY = "bench"
SEED = 42
MAX_TOKENS = 512


@dataclass(frozen=True)
class Ask:
    kind: str  # "rewrite" or "plan"
    system: str
    user: str


@dataclass
class Tally:
    seconds: float = 0.0
    predicted: int = 0
    predicted_ms: float = 0.0
    drafted: int = 0
    accepted: int = 0
    answers: list[str] = field(default_factory=list)


def asks() -> list[Ask]:
    found: list[Ask] = []
    for path in sorted(CAPTURED.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        found += [Ask("rewrite", REWRITE_SYSTEM, call["prompt"]) for call in data["calls"][:1]]
        found.append(Ask("plan", PLANNER_STEPS, f"Goal: {data['goal']}"))
    return found


async def measure(base_url: str, requests: list[Ask]) -> dict[str, Tally]:
    tallies: dict[str, Tally] = {}
    async with AsyncOpenAI(base_url=base_url, api_key=KEY, timeout=600) as sdk:
        for ask in requests:
            started = time.perf_counter()
            reply = await sdk.chat.completions.create(
                model="local",
                messages=[
                    {"role": "system", "content": ask.system},
                    {"role": "user", "content": ask.user},
                ],
                max_tokens=MAX_TOKENS,
                temperature=0,
                seed=SEED,
            )
            tally = tallies.setdefault(ask.kind, Tally())
            tally.seconds += time.perf_counter() - started
            timings: dict[str, Any] = dict((reply.model_extra or {}).get("timings") or {})
            tally.predicted += int(timings.get("predicted_n", 0))
            tally.predicted_ms += float(timings.get("predicted_ms", 0.0))
            tally.drafted += int(timings.get("draft_n", 0))
            tally.accepted += int(timings.get("draft_n_accepted", 0))
            tally.answers.append(reply.choices[0].message.content or "")
    return tallies


def options(mode: str, size: str, models: Path) -> ServerOptions:
    if mode != "draft":
        return ServerOptions(api_key=KEY, speculative=mode)
    draft = resolve_model(LocalModelConfig(size="0.5b"), models)  # the family's smallest
    if size == "0.5b":
        raise SystemExit("the draft mode needs a target larger than its 0.5b draft")
    return ServerOptions(api_key=KEY, speculative=mode, draft_model=draft.path)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.speculative")
    parser.add_argument("--size", default="1.5b", choices=("0.5b", "1.5b"))
    parser.add_argument("--modes", default=",".join(SPECULATIVE))
    parser.add_argument("--models-dir", default=str(Path(".bdg") / "models"))
    args = parser.parse_args()
    models = Path(args.models_dir)
    model = resolve_model(LocalModelConfig(size=args.size), models)
    requests = asks()
    print(f"model {model.name}; {len(requests)} requests; load average {os.getloadavg()[0]:.1f}")
    baseline: dict[str, Tally] = {}
    for mode in args.modes.split(","):
        log = models / f"speculative-{mode}.log"
        with start(model, log, options(mode, args.size, models)) as server:
            tallies = asyncio.run(measure(server.openai_base_url, requests))
        baseline = baseline or tallies
        for kind, tally in sorted(tallies.items()):
            same = sum(a == b for a, b in zip(tally.answers, baseline[kind].answers, strict=True))
            rate = tally.predicted / (tally.predicted_ms / 1000) if tally.predicted_ms else 0.0
            drafts = f"{tally.accepted}/{tally.drafted}" if tally.drafted else "-"
            print(
                f"{mode:<13} {kind:<8} generation {rate:6.1f} tokens/s ({tally.predicted} tokens)"
                f"  {tally.seconds:6.1f} s end to end  drafts accepted {drafts:<9}"
                f"  same answer as '{args.modes.split(',')[0]}' {same}/{len(tally.answers)}"
            )
        print(f"  load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
