"""A rewrite keeps the docstring its definition had (pure, Python).

Asked to fix ``mul()`` in the live demo, the 0.5B answered ``def mul(a: float, b: float) ->
float: return a * b``: right, and the docstring gone, run after run. Dropping documentation is
never what a fix asks for, and a small model rewriting a whole definition loses it as it loses
other pieces (``dropped_uses``). It costs no model turn to mend: the old docstring goes back
as the first statement of the new body (a body written on the ``def`` line moves under it). Not
when the goal speaks of docstrings or documentation (the person may want it gone or new), nor
when the new definition has a docstring of its own.
"""

from __future__ import annotations

import ast
import re
import textwrap

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_ABOUT_DOCS = re.compile(r"\b(doc\s*strings?|docs?|document\w*|comments?)\b", re.I)


def kept_docstring(old: str, new: str, goal: str) -> str:
    """``new`` with ``old``'s docstring back in when it lost it; ``new`` as it is otherwise."""
    if _ABOUT_DOCS.search(goal):
        return new
    before, after = _definition(old), _definition(new)
    if before is None or after is None or before.name != after.name:
        return new
    doc = _docstring_lines(textwrap.dedent(old), before)
    if not doc or ast.get_docstring(after, clean=False) is not None:
        return new
    prefix = re.match(r"[ \t]*", new).group(0)  # type: ignore[union-attr]
    lines = textwrap.dedent(new).split("\n")
    first = after.body[0]
    indent = " " * (after.col_offset + 4)
    line = lines[first.lineno - 1]
    if line[: first.col_offset].strip():  # `def f(): return x`: the body moves under the header
        head, rest = line[: first.col_offset].rstrip(), line[first.col_offset :]
        lines[first.lineno - 1 : first.lineno] = [head, indent + rest]
        at = first.lineno
    else:
        at = first.lineno - 1
        indent = line[: first.col_offset]
    lines[at:at] = [f"{indent}{line}" if line.strip() else line for line in doc]
    mended = "\n".join(lines)
    if _definition(mended) is None:
        return new
    return textwrap.indent(mended, prefix) if prefix else mended


def _definition(code: str) -> ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | None:
    try:
        tree = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], _DEFINITIONS):
        return None
    return tree.body[0]


def _docstring_lines(
    code: str, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
) -> list[str]:
    """The docstring's source lines, dedented to its own first line ([] when it has none)."""
    if ast.get_docstring(node, clean=False) is None:
        return []
    doc = node.body[0]
    lines = code.split("\n")[doc.lineno - 1 : doc.end_lineno]
    shift = doc.col_offset  # continuation lines keep their place relative to the first
    return [line[shift:] if not line[:shift].strip() else line.lstrip() for line in lines]
