"""A rewritten definition keeps the docstring it had (pure, Python).

Asked to fix ``mul()`` in the live demo, the 0.5B wrote the file back with ``def mul(a: float,
b: float) -> float: return a * b``: right, and the docstring gone, run after run. A small model
rewriting a whole definition loses its documentation as it loses other pieces (whole_write
keeps the definitions it drops). It costs no model turn to mend: the old docstring goes back as
the first statement of the new body (a body written on the ``def`` line moves under it), unless
the new definition has a docstring of its own. A deliberate deletion goes through
``edit_file``.
"""

from __future__ import annotations

import ast
import re
import textwrap

from bdg_tools.definitions import MAX_NAMED
from bdg_tools.symbols.lookup import language_of
from bdg_tools.symbols.replace import replace_symbol
from bdg_tools.symbols.spans import NotParsedError, Symbol, python_symbols

MAX_RESTORED = 20

_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def kept_docstring(old: str, new: str) -> str:
    """The definition ``new`` with ``old``'s docstring back in when it lost it; ``new`` as it
    is otherwise."""
    before, after = _definition(old), _definition(new)
    if before is None or after is None or before.name != after.name:
        return new
    doc = _docstring_lines(textwrap.dedent(old), before)
    if not doc or ast.get_docstring(after, clean=False) is not None:
        return new
    prefix = re.match(r"[ \t]*", new).group(0)  # type: ignore[union-attr]
    lines = textwrap.dedent(new).split("\n")
    first = after.body[0]
    decorators = getattr(first, "decorator_list", [])
    start = decorators[0].lineno if decorators else first.lineno
    line = lines[start - 1]
    indent = " " * (after.col_offset + 4)
    if not decorators and line[: first.col_offset].strip():  # `def f(): return x`
        head, rest = line[: first.col_offset].rstrip(), line[first.col_offset :]
        lines[start - 1 : start] = [head, indent + rest]  # the body moves under the header
        at = start
    else:
        at = start - 1
        indent = line[: len(line) - len(line.lstrip())]
    lines[at:at] = [f"{indent}{text}" if text.strip() else text for text in doc]
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


def restore_docstrings(path: str, old: str, new: str) -> tuple[str, list[str]]:
    """The file ``new`` with the definitions (functions, classes, methods) that ``old`` also
    has given back the docstrings they lost, and their names; ``new`` and [] when none did,
    either does not parse, or more than ``MAX_RESTORED`` did (a deliberate rewrite: each
    restore parses the file again)."""
    if language_of(path) != "python":
        return new, []
    try:
        before = {s.qualname: _text(old, s) for s in python_symbols(_bytes(old))}
        found = python_symbols(_bytes(new))
    except NotParsedError:
        return new, []
    lost = [
        s.qualname
        for s in found
        if s.qualname in before and _lost(before[s.qualname], _text(new, s))
    ]
    if len(lost) > MAX_RESTORED:
        return new, []
    content, restored = new, []
    for name in lost:
        now = next(s for s in python_symbols(_bytes(content)) if s.qualname == name)
        code = _text(content, now)
        mended = kept_docstring(before[name], code)
        if mended != code:
            content = replace_symbol(path, content, name, mended).content
            restored.append(name)
    return content, restored


def _lost(old: str, new: str) -> bool:
    """Whether the definition ``old`` has a docstring and ``new`` none."""
    before, after = _definition(old), _definition(new)
    if before is None or after is None:
        return False
    return ast.get_docstring(before) is not None and ast.get_docstring(after) is None


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _text(content: str, symbol: Symbol) -> str:
    """The definition's text, its first line indented as it stands (so it dedents whole)."""
    return symbol.indent + _bytes(content)[symbol.start : symbol.end].decode(
        "utf-8", "surrogatepass"
    )


def docstrings_note(names: list[str]) -> str:
    """What a write that had docstrings put back tells the model."""
    listed = ", ".join(names[:MAX_NAMED]) + (" and more" if len(names) > MAX_NAMED else "")
    return (
        f"The docstrings of {listed}, which the new content left out, were kept. To delete "
        "a docstring, replace its lines with nothing using edit_file."
    )
