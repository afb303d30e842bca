"""The CLI's one-line summaries say something: not a markdown heading, fence or rule."""

from __future__ import annotations

import pytest

from bdg_cli.listings import first_meaningful_line


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("## Test analysis\n\n2 of 5 tests failed.", "2 of 5 tests failed."),
        ("\n# Review\n---\n- **Risk:** no tests\n", "Risk: no tests"),
        ("```\nTraceback (most recent call last):\n```", "Traceback (most recent call last):"),
        ("### Only a heading", "Only a heading"),
        ("plain words\nmore", "plain words"),
        ("", ""),
    ],
)
def test_first_meaningful_line(text: str, line: str) -> None:
    assert first_meaningful_line(text) == line


def test_a_long_line_is_cut_with_an_ellipsis() -> None:
    assert first_meaningful_line("## x\n" + "a" * 100, 10) == "a" * 9 + "…"
