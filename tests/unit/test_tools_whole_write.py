"""A whole-file write that drops definitions: kept through replace_symbol, or refused with the
names it would lose (#18). The contents are real modules of the kind the bench's models rewrote.
"""

from __future__ import annotations

import ast

import pytest

from bdg_tools.edits import apply_edit, syntax_problem
from bdg_tools.symbols.whole_write import WriteRefused, keep_definitions

VECTORS = '''"""Small vector helpers."""
import math

EPSILON = 1e-9


def clamp(value, low, high):
    return max(low, min(high, value))


def lerp(a, b, t):
    return a + (b - a) * t


class Vec:
    def length(self):
        return math.hypot(self.x, self.y)
'''
JS = """import { round } from "./round.js";

export const SCALE = 10;

export function clamp(value, low, high) {
  return Math.max(low, Math.min(high, value));
}

export const lerp = (a, b, t) => a + (b - a) * t;
"""


def names(path: str, text: str) -> set[str]:
    if path.endswith(".py"):
        return {n.name for n in ast.parse(text).body if hasattr(n, "name")}
    return {w for w in ("clamp", "lerp", "SCALE", "invert", "round") if w in text}


def test_a_write_of_one_function_replaces_it_and_keeps_the_rest_python() -> None:
    # The bench's failure: the model sent clamp alone and lerp vanished.
    new = "def clamp(value, low, high):\n    return low if value < low else min(high, value)\n"
    kept = keep_definitions("geo/vectors.py", VECTORS, new)
    assert kept is not None
    assert kept.content == VECTORS.replace(
        "return max(low, min(high, value))", "return low if value < low else min(high, value)"
    )
    assert kept.note == (
        "file_write got only part of geo/vectors.py: replaced clamp, and kept EPSILON, lerp, "
        "Vec, which the new content left out. To delete a definition, replace its lines with "
        "nothing using edit_file."
    )


def test_new_definitions_and_imports_are_added_python() -> None:
    new = (
        "import math\nimport cmath\n\n\n"
        "def lerp(a, b, t):\n    return a + (b - a) * min(1.0, t)\n\n\n"
        "def invert(v):\n    return -v\n"
    )
    kept = keep_definitions("vectors.py", VECTORS, new)
    assert kept is not None
    assert syntax_problem("vectors.py", kept.content) == ""
    assert names("vectors.py", kept.content) == {"clamp", "lerp", "Vec", "invert"}
    assert "import math\nimport cmath\n" in kept.content
    assert "min(1.0, t)" in kept.content
    assert kept.content.endswith("def invert(v):\n    return -v\n")
    assert "replaced lerp; added invert; added the import 'import cmath'" in kept.note


def test_a_write_of_one_function_replaces_it_and_keeps_the_rest_javascript() -> None:
    new = "export const lerp = (a, b, t) => a + (b - a) * Math.min(1, t);"
    kept = keep_definitions("src/vectors.js", JS, new)
    assert kept is not None
    assert kept.content == JS.replace("(b - a) * t;", "(b - a) * Math.min(1, t);")
    assert "replaced lerp, and kept SCALE, clamp," in kept.note


def test_a_typescript_write_adds_a_new_function() -> None:
    new = "export function invert(v: number): number {\n  return -v;\n}\n"
    kept = keep_definitions("src/vectors.ts", JS, new)
    assert kept is not None
    assert syntax_problem("src/vectors.ts", kept.content) == ""
    assert kept.content.startswith(JS)  # nothing of the old file moved
    assert kept.content.endswith("\nexport function invert(v: number): number {\n  return -v;\n}\n")


def test_a_write_with_other_code_is_refused_with_the_exact_message() -> None:
    # The other bench failure: config.py shrank to one line.
    with pytest.raises(WriteRefused) as refused:
        keep_definitions("geo/vectors.py", VECTORS, "EPSILON = 1e-6\n")
    assert str(refused.value) == (
        "file_write would replace the whole of geo/vectors.py and lose clamp, lerp, Vec, "
        "which it defines now; the new content has more than whole functions and classes "
        "('EPSILON = 1e-6'), so they cannot be kept. Change one function or class with "
        "replace_symbol, or the lines you mean with edit_file (to delete a definition, replace "
        "its lines with nothing). Nothing was changed."
    )


def test_a_javascript_write_with_other_code_is_refused() -> None:
    new = "export function clamp(v) {\n  return v;\n}\nconsole.log(clamp(3));\n"
    with pytest.raises(WriteRefused, match=r"lose lerp, which it defines now; .*"
                       r"\('console\.log\(clamp\(3\)\);'\)"):  # fmt: skip
        keep_definitions("src/vectors.js", JS, new)


def test_a_new_content_that_does_not_parse_is_refused() -> None:
    with pytest.raises(WriteRefused, match=r"lose lerp, Vec, .*does not parse"):
        keep_definitions("vectors.py", VECTORS, "def clamp(value:\n    return value\n")


def test_a_new_content_of_a_different_kind_is_refused() -> None:
    # clamp is a function; a class of that name cannot replace it through replace_symbol
    with pytest.raises(WriteRefused, match=r"clamp: the new code defines a class clamp"):
        keep_definitions("vectors.py", VECTORS, "class clamp:\n    pass\n")


def test_writes_that_drop_nothing_or_cannot_be_read_land_as_sent() -> None:
    assert keep_definitions("vectors.py", VECTORS, VECTORS.replace("1e-9", "1e-6")) is None
    assert keep_definitions("vectors.py", VECTORS, VECTORS + "\n\ndef extra():\n    pass\n") is None
    assert keep_definitions("notes.md", "# lerp\n", "gone\n") is None
    broken = "def lerp(a, b, t:\n    return a\n"  # a file that does not parse is rewritten whole
    assert keep_definitions("vectors.py", broken, "X = 1\n") is None


def test_a_rewrite_that_drops_only_constants_and_imports_lands_as_sent() -> None:
    """A deliberate rewrite (the scenario's App.tsx drops the todo app's FILTERS and imports)
    keeps every function and class it had, so it is written whole."""
    new = VECTORS.replace("import math\n", "").replace("EPSILON = 1e-9\n", "")
    assert new != VECTORS
    assert keep_definitions("vectors.py", VECTORS, new) is None
    js = JS.replace('import { round } from "./round.js";\n', "").replace(
        "export const SCALE = 10;\n", ""
    )
    assert keep_definitions("src/vectors.js", JS, js) is None


def test_a_deliberate_deletion_goes_through_edit_file() -> None:
    # What the refusal tells the model to do: the definition's lines replaced by nothing.
    lerp = "def lerp(a, b, t):\n    return a + (b - a) * t\n\n\n"
    edited = apply_edit("vectors.py", VECTORS, lerp, "")
    assert "lerp" not in edited
    assert names("vectors.py", edited) == {"clamp", "Vec"}
