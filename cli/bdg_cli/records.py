"""Listings as one record per line: columns as wide as their widest value, the free text last.

A bordered table squeezed into 80 columns (rich's width when output is not a terminal) wraps
every cell to a word a line. Here nothing wraps: on a terminal the last column is cut to fit,
anywhere else it is whole, so ``grep``, ``cut`` and ``less -S`` get one line per record. Pure.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterable, Sequence
from typing import Annotated, Any

import typer

GAP = "  "


def record_lines(
    header: Sequence[str], rows: Iterable[Sequence[str]], width: int | None = None
) -> list[str]:
    """The header and each row on a line; all but the last column padded to their widest
    value; the last cut with an ellipsis when ``width`` (a terminal's) is given."""
    table = [list(header), *([" ".join(str(c).split()) for c in row] for row in rows)]
    widths = [max(len(r[i]) for r in table) for i in range(len(header) - 1)]
    lines = []
    for row in table:
        line = GAP.join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + GAP + row[-1]
        line = line.rstrip()
        if width is not None and len(line) > width:
            line = line[: max(width - 1, 0)] + "…"
        lines.append(line)
    return lines


def json_text(value: Any) -> str:
    """Stable, indented JSON (keys as given; datetimes and UUIDs as strings)."""
    return json.dumps(value, indent=2, default=str)


def print_records(header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """On a terminal, cut to its width; elsewhere whole lines (``COLUMNS`` does not cut).
    Plain ``print``: rich would cost a quick listing's start more than the listing."""
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
    for line in record_lines(header, rows, width):
        print(line)


AsJson = Annotated[
    bool, typer.Option("--json", help="machine-readable JSON with stable keys, for scripts")
]
