"""One record per line: padded columns, the free text last, cut only to a terminal's width."""

from __future__ import annotations

from bdg_cli.records import record_lines

HEADER = ("JOB", "STATE", "GOAL")
ROWS = [["a1", "planning", "add a dark mode toggle"], ["b22", "awaiting_plan_approval", "fix\nit"]]


def test_columns_are_as_wide_as_their_values_and_nothing_wraps() -> None:
    assert record_lines(HEADER, ROWS) == [
        "JOB  STATE                   GOAL",
        "a1   planning                add a dark mode toggle",
        "b22  awaiting_plan_approval  fix it",  # a line break in a value is a space
    ]


def test_a_terminal_width_cuts_the_line_with_an_ellipsis() -> None:
    lines = record_lines(HEADER, ROWS, width=40)
    assert lines[1] == "a1   planning                add a dark…"
    assert all(len(line) <= 40 for line in lines)
