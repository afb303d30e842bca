"""A rewritten definition that lost its docstring gets it back, with no model turn."""

from __future__ import annotations

import pytest

from bdg_tools.symbols.docstrings import (
    MAX_RESTORED,
    docstrings_note,
    kept_docstring,
    restore_docstrings,
)

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
    assert kept_docstring(MUL, answer) == FIXED


def test_a_header_over_two_lines_and_a_method_with_a_long_docstring() -> None:
    got = kept_docstring(MUL, "def mul(a,\n        b): return a * b")
    assert got == 'def mul(a,\n        b):\n    """The product of a and b."""\n    return a * b'
    doc = '        """Sum.\n\n        Of all lines.\n        """\n'
    old = f"    def total(self):\n{doc}        return 1\n"
    new = "    def total(self):\n        x = 2\n        return x\n"
    mended = f"    def total(self):\n{doc}        x = 2\n        return x\n"
    assert kept_docstring(old, new) == mended


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (MUL, 'def mul(a, b):\n    """Its own."""\n    return a * b'),  # has one
        (MUL, "def times(a, b):\n    return a * b"),  # another definition
        ("def mul(a, b):\n    return a + b\n", "def mul(a, b):\n    return a * b"),
        (MUL, "def mul(a, b):\n    return ("),  # does not parse
        (MUL, "def mul(a, b):\n    return a * b\n\n\ndef f():\n    pass"),
    ],
)
def test_left_as_sent(old: str, new: str) -> None:
    assert kept_docstring(old, new) == new


OLD_FILE = (
    '"""Ops."""\n\n\n' + MUL + "\n\nclass C:\n"
    '    """A class."""\n\n    @property\n    def x(self):\n        """X."""\n        return 1\n'
)


def test_a_file_gets_back_the_docstrings_of_its_functions_classes_and_methods() -> None:
    new = (
        '"""Ops."""\n\n\ndef mul(a: float, b: float) -> float: return a * b\n\n\n'
        "class C:\n    @property\n    def x(self):\n        return 2\n"
    )
    content, names = restore_docstrings("calc/ops.py", OLD_FILE, new)
    assert names == ["mul", "C", "C.x"]
    assert content == (
        f'"""Ops."""\n\n\n{FIXED}\n\n\nclass C:\n    """A class."""\n    @property\n'
        '    def x(self):\n        """X."""\n        return 2\n'
    )
    assert "mul, C, C.x" in docstrings_note(names)


def test_a_file_that_kept_them_or_is_no_python_is_left_as_written() -> None:
    assert restore_docstrings("calc/ops.py", OLD_FILE, OLD_FILE) == (OLD_FILE, [])
    assert restore_docstrings("calc/ops.py", OLD_FILE, "def (") == ("def (", [])
    assert restore_docstrings("ops.js", OLD_FILE, "x") == ("x", [])


def test_a_write_that_drops_more_docstrings_than_the_cap_is_left_as_written() -> None:
    count = MAX_RESTORED + 1
    old = "".join(f'def f{i}():\n    """Doc {i}."""\n    return {i}\n\n\n' for i in range(count))
    new = "".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(count))
    assert restore_docstrings("many.py", old, new) == (new, [])
    fewer = "".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(MAX_RESTORED))
    content, names = restore_docstrings("many.py", old, fewer)
    assert len(names) == MAX_RESTORED
    assert content.count('"""Doc') == MAX_RESTORED
