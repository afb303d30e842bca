"""The agent bench's figures: one row per task, the solve rate and the totals."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.agent_phases import shown, summed
from bench.agent_tasks.tasks import SPLITS, split_of

REACHED_DEPLOY = frozenset({"awaiting_deploy_approval", "done"})


@dataclass(frozen=True)
class TaskResult:
    task: str
    solved: bool
    attempts: int
    prompt_tokens: int
    completion_tokens: int
    model_calls: int
    seconds: float
    end_state: str
    detail: str
    load: float = 0.0  # 1-minute load average as the task ended: a slow row on a busy machine
    step_seconds: dict[str, float] = field(default_factory=dict)  # per step (agent_phases)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def delivered(self) -> bool:
        """Solved and the job reached the deploy approval: a right change in a failed job (its
        own wrong test refused it) gives the user nothing."""
        return self.solved and self.end_state.split(" ")[0] in REACHED_DEPLOY

    @property
    def done_but_wrong(self) -> bool:
        """The job reached the deploy approval (or done) with a change the hidden tests fail:
        what the tester's fail-to-pass check and the review are there to stop."""
        return not self.solved and self.end_state.split(" ")[0] in REACHED_DEPLOY


def table(results: Sequence[TaskResult]) -> Table:
    shown = Table(title="agent bench", title_justify="left")
    for name in ("task", "solved", "attempts", "tokens (prompt+completion)", "model calls",
                 "wall s", "load", "end state", "detail"):  # fmt: skip
        shown.add_column(name, justify="right" if name in ("attempts", "model calls") else "left")
    for r in results:
        shown.add_row(
            r.task,
            "[bold green]yes[/]"
            if r.delivered
            else "[yellow]yes, but the job failed[/]"
            if r.solved
            else "[red]no, done-but-wrong[/]"
            if r.done_but_wrong
            else "[red]no[/]",
            str(r.attempts),
            f"{r.tokens} ({r.prompt_tokens}+{r.completion_tokens})",
            str(r.model_calls),
            f"{r.seconds:.0f}",
            f"{r.load:.1f}",
            r.end_state,
            r.detail[:70],
        )
    return shown


def report(results: Sequence[TaskResult], model: str, console: Console, variant: str = "") -> None:
    console.print(table(results))
    halves: dict[str, list[TaskResult]] = {}
    for r in results:
        halves.setdefault(split_of(r.task), []).append(r)
    for half in SPLITS:
        if part := halves.get(half):
            wrong = sum(r.done_but_wrong for r in part)
            console.print(
                f"{half}: solved {sum(r.solved for r in part)}/{len(part)} (delivered "
                f"{sum(r.delivered for r in part)}), done-but-wrong {wrong}"
            )
    solved = sum(r.solved for r in results)
    rate = solved / len(results) if results else 0.0
    console.print(
        f"solved {solved}/{len(results)} ({rate:.0%}; delivered "
        f"{sum(r.delivered for r in results)}); "
        f"done-but-wrong {sum(r.done_but_wrong for r in results)}; "
        f"tokens {sum(r.tokens for r in results)} "
        f"({sum(r.prompt_tokens for r in results)} prompt + "
        f"{sum(r.completion_tokens for r in results)} completion) in "
        f"{sum(r.model_calls for r in results)} model calls; "
        f"wall {sum(r.seconds for r in results):.0f} s"
    )
    console.print(
        f"time by step: {shown(summed([r.step_seconds for r in results]))}, "
        f"of {sum(r.seconds for r in results):.0f} s wall"
    )
    console.print(f"model: {model}" + (f"; {variant}" if variant else ""))


def write_json(
    path: Path, results: Sequence[TaskResult], model: str, variant: Mapping[str, str]
) -> None:
    """The run's variant (strategy, candidates), totals (solved, tokens, seconds) and rows."""
    totals: dict[str, object] = {
        "tasks": len(results),
        "solved": sum(r.solved for r in results),
        "delivered": sum(r.delivered for r in results),
        "done_but_wrong": sum(r.done_but_wrong for r in results),
        "prompt_tokens": sum(r.prompt_tokens for r in results),
        "completion_tokens": sum(r.completion_tokens for r in results),
        "model_calls": sum(r.model_calls for r in results),
        "seconds": round(sum(r.seconds for r in results), 1),
        "step_seconds": summed([r.step_seconds for r in results]),
    }
    data: dict[str, object] = {"model": model, "variant": dict(variant), "totals": totals}
    data["results"] = [_row(r) for r in results]
    path.write_text(json.dumps(data, indent=2) + "\n")


def _row(result: TaskResult) -> dict[str, object]:
    return {
        **asdict(result),
        "delivered": result.delivered,
        "done_but_wrong": result.done_but_wrong,
    }
