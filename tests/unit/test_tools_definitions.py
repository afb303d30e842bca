"""What a whole-file write dropped: the top-level names of Python and JavaScript modules."""

from __future__ import annotations

import pytest

from bdg_tools.definitions import dropped_note, top_level_names

PY = '''"""Arithmetic."""
import math

PI: float = 3.14
TAU = 2 * PI


def add(a, b):
    def inner():
        return 1
    return a + b


async def fetch():
    return None


class Stack:
    def push(self, item):
        self.items.append(item)
'''
JS = """export function clamp(value, min, max) {
  const low = Math.min(min, max);
  return value;
}
export default async function main() {}
export const lerp = (a, b, t) => a + (b - a) * t;
class Box {}
let count = 0;
"""


def test_top_level_names_of_a_python_module() -> None:
    assert top_level_names("calc/ops.py", PY) == ["PI", "TAU", "add", "fetch", "Stack"]


def test_top_level_names_of_a_javascript_module() -> None:
    assert top_level_names("src/clamp.js", JS) == ["clamp", "main", "lerp", "Box", "count"]


@pytest.mark.parametrize("path", ["README.md", "data.json", "Makefile"])
def test_other_files_have_no_names_read(path: str) -> None:
    assert top_level_names(path, "def x(): pass\nfunction y() {}\n") == []


def test_a_write_that_keeps_every_name_has_no_note() -> None:
    assert dropped_note("calc/ops.py", PY, PY.replace("a + b", "b + a")) == ""


def test_a_write_that_drops_names_says_which_and_what_to_do() -> None:
    note = dropped_note("calc/ops.py", PY, "def add(a, b):\n    return a + b\n")
    assert "no longer defines PI, TAU, fetch, Stack" in note
    assert "apply_patch" in note
