"""A file as it was before this job changed it: the earlier attempts' patches (the task's
recipe, in order) undone on the file as it is now, last patch first. A later attempt's rewrite
is shown the definition so, beside the one it is asked to change: the 1.5B, asked to fix
clamp()'s upper bound, dropped its lower bound too, then resent that definition twice on
attempt 2, the test of the lost behaviour failing before its eyes. Pure: text in, text out."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bdg_coder.pipeline.rewrite import definition
from bdg_tools.symbols.lookup import SymbolError
from bdg_tools.symbols.replace import replace_symbol

HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@dataclass(frozen=True)
class Hunk:
    start: int  # the new side's first line, 1-based
    old: tuple[str, ...]  # the lines before (context and removed)
    new: tuple[str, ...]  # the lines after (context and added)


def hunks_of(patch: str, path: str) -> list[Hunk] | None:
    """The hunks the patch made to ``path`` in order ([]: it left the file alone; None: it
    created the file, which had no "before")."""
    found: list[Hunk] = []
    mine, created = False, False
    old: list[str] = []
    new: list[str] = []
    start = 0

    def close() -> None:
        if old or new:
            found.append(Hunk(start, tuple(old), tuple(new)))

    for line in patch.split("\n"):
        if line.startswith("diff --git "):
            if mine:
                close()
            old, new = [], []
            mine = line == f"diff --git a/{path} b/{path}"
            continue
        if not mine:
            continue
        if line.startswith("--- "):
            created = line == "--- /dev/null"
        elif line.startswith("+++ ") or line.startswith("\\"):
            continue
        elif matched := HUNK.match(line):
            close()
            old, new, start = [], [], int(matched.group(1))
        elif line.startswith(" "):
            old.append(line[1:])
            new.append(line[1:])
        elif line.startswith("-"):
            old.append(line[1:])
        elif line.startswith("+"):
            new.append(line[1:])
    if mine:
        close()
    return None if created else found


def before_job(path: str, content: str, patches: Sequence[str]) -> str | None:
    """``content`` with every patch's hunks on ``path`` undone, or None when the job created
    the file or a hunk is not where its patch says (the file moved on since)."""
    lines = content.split("\n")
    for patch in reversed(patches):
        hunks = hunks_of(patch, path)
        if hunks is None:
            return None
        for hunk in reversed(hunks):  # bottom up, so the line numbers above still hold
            at = hunk.start - 1 if hunk.new else hunk.start
            if tuple(lines[at : at + len(hunk.new)]) != hunk.new:
                return None
            lines[at : at + len(hunk.new)] = hunk.old
    return "\n".join(lines)


def unanchored(path: str, content: str, original: str, symbol: str) -> tuple[str, bool] | None:
    """The file to show for a fresh ask of ``symbol``: ``content`` with the definition as it
    was in ``original`` (the file before the job), and False; when ``original`` had none (the
    job added it), ``original`` itself and True (a new definition to write). None when the
    definition is as it was (the job has not changed it) or cannot be put back.

    Why: shown the file with its own failed definition, the 1.5B resent it verbatim on every
    later attempt of the agent bench's dev half (twice each: the retry sampled at 0.7 gave
    the same 149 tokens), the failing tests quoted below it; a small model copies the code it
    is shown."""
    now = definition(path, content, symbol)
    then = definition(path, original, symbol)
    if not now or now == then:
        return None
    if not then:
        return original, True
    try:
        return replace_symbol(path, content, symbol, then).content, False
    except SymbolError:
        return None
