"""What a live job adds to the demo's summary: the model's tokens by role, and the change it made
(its FilesChanged patches, in order)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rich.console import Console, Group
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from bdg_contracts import events as ev
from bdg_contracts.base import Event


def model_calls(history: Sequence[Event]) -> list[ev.LlmCalled]:
    return [e for e in history if isinstance(e, ev.LlmCalled)]


def tokens_table(history: Sequence[Event]) -> Table:
    """Model calls, prompt and completion tokens per role, and their total."""
    calls, prompt, completion = Counter[str](), Counter[str](), Counter[str]()
    for call in model_calls(history):
        calls[call.role] += 1
        prompt[call.role] += call.prompt_tokens
        completion[call.role] += call.completion_tokens
    table = Table(title="model tokens", title_justify="left")
    for name in ("role", "calls", "prompt", "completion"):
        table.add_column(name, justify="left" if name == "role" else "right")
    for role in calls:
        table.add_row(role, str(calls[role]), str(prompt[role]), str(completion[role]))
    table.add_row(
        Text("total", style="bold"),
        str(calls.total()),
        str(prompt.total()),
        str(completion.total()),
    )
    return table


def final_diff(history: Sequence[Event]) -> str:
    """The job's patches in the order they were applied (empty when nothing changed)."""
    return "".join(
        e.patch if e.patch.endswith("\n") else e.patch + "\n"
        for e in history
        if isinstance(e, ev.FilesChanged)
    )


def show_change(history: Sequence[Event], console: Console) -> None:
    console.print(tokens_table(history))
    diff = final_diff(history)
    if not diff.strip():
        console.print("[bold]final diff[/]: the coder changed no file")
        return
    patches = sum(isinstance(e, ev.FilesChanged) for e in history)
    console.print(
        Group(
            Text(f"final diff ({patches} patch(es) of FilesChanged, in order):", style="bold"),
            Syntax(diff, "diff", theme="ansi_dark", background_color="default"),
        )
    )
