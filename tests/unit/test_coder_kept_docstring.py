"""A rewrite that lost its definition's docstring gets it back, with no model turn."""

from __future__ import annotations

import pytest

from bdg_coder.pipeline.kept_docstring import kept_docstring

MUL = 'def mul(a: float, b: float) -> float:\n    """The product of a and b."""\n    return a + b\n'
FIXED = 'def mul(a: float, b: float) -> float:\n    """The product of a and b."""\n    return a * b'


@pytest.mark.parametrize(
    "answer",
    [
        # the 0.5B's answer in the live demo: the body on the def line
        "def mul(a: float, b: float) -> float: return a * b",
        "def mul(a: float, b: float) -> float:\n    return a * b",
    ],
)
def test_the_docstring_goes_back_as_the_first_statement(answer: str) -> None:
    assert kept_docstring(MUL, answer, "Fix mul() in calc/ops.py") == FIXED


def test_a_header_over_two_lines_and_a_method_with_a_long_docstring() -> None:
    got = kept_docstring(MUL, "def mul(a,\n        b): return a * b", "fix")
    assert got == 'def mul(a,\n        b):\n    """The product of a and b."""\n    return a * b'
    doc = '        """Sum.\n\n        Of all lines.\n        """\n'
    old = f"    def total(self):\n{doc}        return 1\n"
    new = "    def total(self):\n        x = 2\n        return x\n"
    mended = f"    def total(self):\n{doc}        x = 2\n        return x\n"
    assert kept_docstring(old, new, "fix") == mended


@pytest.mark.parametrize(
    ("old", "new", "goal"),
    [
        (MUL, 'def mul(a, b):\n    """Its own."""\n    return a * b', "fix"),  # has one
        (MUL, "def mul(a, b):\n    return a * b", "Drop the docstring of mul()"),
        (MUL, "def mul(a, b):\n    return a * b", "Document mul() better"),
        (MUL, "def times(a, b):\n    return a * b", "fix"),  # another definition
        ("def mul(a, b):\n    return a + b\n", "def mul(a, b):\n    return a * b", "fix"),
        (MUL, "def mul(a, b):\n    return (", "fix"),  # does not parse
        (MUL, "def mul(a, b):\n    return a * b\n\n\ndef f():\n    pass", "fix"),
    ],
)
def test_left_as_sent(old: str, new: str, goal: str) -> None:
    assert kept_docstring(old, new, goal) == new
