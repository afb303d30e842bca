"""What a test answer adds to the test file (pure): asked for a new test, a small model often
sends the whole file back, its tests and imports and the new test after them.

On the agent bench the 1.5B's answers for py-config-port were the file's ``import os``, ``from
config import load`` and ``test_host_default`` followed by a new ``test_port_default``: both
turns were refused ("already has a test named test_host_default") and the attempt shipped
without a test, which the tester's fail-to-pass rule then failed. What the file already has is
dropped here, so the new part is what gets checked and appended:
- Python: a top-level ``test_`` function (or ``Test`` class) the file defines already, and an
  import statement the file has word for word;
- JavaScript: an import of a name the file binds already (two ``import test from "node:test"``
  lines make the whole file fail to load: the name is dropped from the import, the import when
  none is left), and a top-level statement the file has word for word (a ``test(...)`` block
  sent back unchanged).
Anything else is left for ``check_test`` to judge as before.
"""

from __future__ import annotations

import ast
import re

_JS_STATEMENT_START = re.compile(r"^\S", re.MULTILINE)
_JS_IMPORT = re.compile(r"^import\s+(.+?)\s+from\s+(['\"][^'\"]+['\"])\s*;?$")


def new_part(path: str, content: str, answer: str) -> str:
    """``answer`` without what ``content`` (the test file) already has; the answer unchanged
    when it cannot be read."""
    if path.endswith(".py"):
        return _python(content, answer)
    return _javascript(content, answer)


def _python(content: str, answer: str) -> str:
    try:
        sent, had = ast.parse(answer), ast.parse(content)
    except SyntaxError:
        return answer  # check_test names the error
    existing = {
        node.name
        for node in had.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    had_lines = {line.strip() for line in content.splitlines()}
    lines = answer.splitlines()
    kept: list[str] = []
    dropped_any = False
    for node in sent.body:
        segment = lines[_first_line(node) - 1 : (node.end_lineno or node.lineno)]
        duplicate = (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and node.name in existing
        ) or (
            isinstance(node, ast.Import | ast.ImportFrom)
            and all(line.strip() in had_lines for line in segment)
        )
        if duplicate:
            dropped_any = True
        else:
            kept.append("\n".join(segment))
    if not dropped_any or not kept:
        return answer  # nothing the file has, or nothing new: check_test says which
    return "\n\n\n".join(part.strip("\n") for part in kept)


def _first_line(node: ast.stmt) -> int:
    """Its first line, decorators included."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return node.lineno


def _javascript(content: str, answer: str) -> str:
    """Top-level statements split where a line starts at column 0 (a block's closing ``});``
    stays with its block): those the file has word for word are dropped."""
    starts = [m.start() for m in _JS_STATEMENT_START.finditer(answer)]
    if not starts:
        return answer
    pieces = [answer[: starts[0]]] if starts[0] else []
    for here, after in zip(starts, [*starts[1:], len(answer)], strict=True):
        pieces.append(answer[here:after])
    statements: list[str] = []
    for piece in pieces:  # a closing "});" at column 0 belongs to the statement before it
        if statements and re.match(r"^[)}\]]", piece):
            statements[-1] += piece
        else:
            statements.append(piece)
    had_lines = {line.strip() for line in content.splitlines()}
    bound = {name for line in content.splitlines() for name in _js_bound(line)[1]}
    kept: list[str] = []
    for statement in statements:
        if _had(statement.strip(), content, had_lines):
            continue
        kept.append(_js_unbound_import(statement, bound))
    if kept == statements or not any(s.strip() for s in kept):
        return answer
    return "".join(kept).strip("\n")


def _js_bound(line: str) -> tuple[list[tuple[str, str]], set[str]]:
    """An import line's (specifier, local name) pairs and its local names (none: not one)."""
    match = _JS_IMPORT.match(line.strip())
    if match is None:
        return [], set()
    pairs: list[tuple[str, str]] = []
    clause = match.group(1)
    if named := re.search(r"\{([^}]*)\}", clause):
        for part in (p.strip() for p in named.group(1).split(",")):
            if part:
                pairs.append(("{" + part + "}", part.split(" as ")[-1].strip()))
        clause = clause.replace(named.group(0), "")
    for part in (p.strip() for p in clause.split(",")):
        if part:
            pairs.append((part, part.split(" as ")[-1].strip()))
    return pairs, {name for _, name in pairs}


def _js_unbound_import(statement: str, bound: set[str]) -> str:
    """An import of names the file binds already (a redeclaration: the file would not load)
    without them: dropped when none is left."""
    pairs, _ = _js_bound(statement)
    if not pairs:
        return statement
    fresh = [(spec, name) for spec, name in pairs if name not in bound]
    if len(fresh) == len(pairs):
        return statement
    if not fresh:
        return ""
    source = _JS_IMPORT.match(statement.strip())
    assert source is not None  # _js_bound matched it
    plain = [spec for spec, _ in fresh if not spec.startswith("{")]
    named = [spec[1:-1] for spec, _ in fresh if spec.startswith("{")]
    clause = ", ".join([*plain, *(["{ " + ", ".join(named) + " }"] if named else [])])
    return f"import {clause} from {source.group(2)};" + statement[len(statement.rstrip()) :]


def _had(statement: str, content: str, had_lines: set[str]) -> bool:
    """Word for word in the file, from the start of one of its lines."""
    first = statement.split("\n", 1)[0].strip()
    return bool(statement) and first in had_lines and statement in content
