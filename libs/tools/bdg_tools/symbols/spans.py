"""Where a file's functions and classes are (pure): Python with ``ast``, JavaScript and
TypeScript with tree-sitter (``spans_js``).

A symbol is named as a model would name it: ``add``, ``Cart``, ``Cart.total`` (a method),
``Outer.Inner.run``. Its span covers what belongs to it: Python decorators, a JavaScript
``export``, TypeScript member decorators. Spans are byte offsets into the UTF-8 text, so a
replacement leaves every other byte of the file as it was.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Literal

from bdg_tools.edits import DEEP, python_syntax_error

Kind = Literal["function", "class"]


@dataclass(frozen=True)
class Symbol:
    qualname: str  # "add", "Cart.total"
    kind: Kind
    start: int  # first byte of its text, decorators / export included
    head: int  # first byte of the definition proper (``def``, ``class``, ``function``...)
    end: int  # the byte after its last one
    line: int  # 1-based line of ``start``
    wrapped: bool  # it has decorators or an ``export`` in front (start < head)
    indent: str = ""  # the whitespace before ``start`` on its line

    @property
    def name(self) -> str:
        return self.qualname.rsplit(".", 1)[-1]


class NotParsedError(ValueError):
    """The text does not parse; ``str(error)`` says where."""


def python_symbols(source: bytes) -> list[Symbol]:
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise NotParsedError(python_syntax_error(error)) from error
    except (RecursionError, MemoryError) as error:  # how ast gives up on deep nesting
        raise NotParsedError(DEEP) from error
    starts = _line_starts(source)
    found: list[Symbol] = []
    _walk_python(tree.body, "", source, starts, found)
    return found


def _walk_python(
    body: list[ast.stmt], prefix: str, source: bytes, starts: list[int], found: list[Symbol]
) -> None:
    for node in body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
        line_start = starts[first - 1]
        indent = _indent(source, line_start)
        head = starts[node.lineno - 1] + node.col_offset  # col_offset counts UTF-8 bytes
        end = starts[(node.end_lineno or node.lineno) - 1] + (node.end_col_offset or 0)
        end = trailing_end(source, end, indent, b"#")
        kind: Kind = "class" if isinstance(node, ast.ClassDef) else "function"
        qualname = prefix + node.name
        start = line_start + len(indent)
        found.append(Symbol(qualname, kind, start, head, end, first, start < head, indent))
        if isinstance(node, ast.ClassDef):  # methods; functions' own inner defs are theirs
            _walk_python(node.body, qualname + ".", source, starts, found)


def _line_starts(source: bytes) -> list[int]:
    starts = [0]
    starts.extend(i + 1 for i, byte in enumerate(source) if byte == 0x0A)
    return starts


def _indent(source: bytes, line_start: int) -> str:
    end = line_start
    while end < len(source) and source[end] in b" \t":
        end += 1
    return source[line_start:end].decode()


def trailing_end(source: bytes, end: int, indent: str, comment: bytes) -> int:
    """``end`` moved past a comment on the symbol's last line and past the comment lines right
    below it indented deeper than the symbol: they are its body's, and would otherwise trail
    after the new code."""
    eol = _line_end(source, end)
    rest = source[end:eol].strip()
    if rest and not rest.startswith(comment):  # code follows on that line: it is not ours
        return end
    end += len(source[end:eol].rstrip())
    while eol < len(source):
        after = _line_end(source, eol + 1)
        line = source[eol + 1 : after]
        text = line.lstrip(b" \t")
        if not text.startswith(comment) or len(line) - len(text) <= len(indent):
            break
        end, eol = eol + 1 + len(line.rstrip()), after
    return end


def _line_end(source: bytes, offset: int) -> int:
    found = source.find(b"\n", offset)
    return len(source) if found < 0 else found
