"""Search/replace edits, checked before they land (pure).

Small models rewrite whole files through ``file_write`` and drop functions on the way; a
search/replace block (the edit format Aider found best for most models) names only the lines it
changes. An edit lands only when its search text occurs exactly once in the file and the result
still parses (Python with ``ast``, JavaScript and TypeScript with tree-sitter); otherwise nothing
changes and the error says exactly what failed, for the model to correct.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable
from pathlib import PurePosixPath

import tree_sitter_javascript
import tree_sitter_typescript
from tree_sitter import Language, Parser

MAX_SHOWN = 300  # characters of the search text quoted back in an error
DEEP = "it is nested too deeply to parse"


class EditError(ValueError):
    """The edit cannot land; ``str(error)`` tells the model why and what to do."""


def apply_edit(path: str, content: str, search: str, replace: str) -> str:
    """``content`` with the one occurrence of ``search`` replaced, or EditError."""
    if not search:
        raise EditError("the search text is empty: copy the lines to change from the file")
    count = content.count(search)
    if count == 0:
        raise EditError(_not_found(path, content, search))
    if count > 1:
        raise EditError(
            f"the search text occurs {count} times in {path}; include more of the lines "
            "around it so it occurs exactly once. Nothing was changed."
        )
    edited = content.replace(search, replace, 1)
    problem = syntax_problem(path, edited)
    if problem:
        raise EditError(f"after this edit {path} would not parse ({problem}). Nothing was changed.")
    return edited


def _not_found(path: str, content: str, search: str) -> str:
    first = next((line.strip() for line in search.splitlines() if line.strip()), "")
    hint = ""
    if first and first in content:
        line = content[: content.index(first)].count("\n") + 1
        hint = (
            f" Its first line occurs at line {line}, so the lines after it differ (check "
            "indentation and blank lines)."
        )
    shown = search if len(search) <= MAX_SHOWN else search[:MAX_SHOWN] + "..."
    return (
        f"the search text does not occur in {path}: {shown!r}.{hint} Copy the lines exactly "
        "as file_read shows them. Nothing was changed."
    )


def syntax_problem(path: str, text: str) -> str:
    """Why ``text`` does not parse as the language of ``path`` ("" when it does, or when the
    language is one not checked)."""
    suffix = PurePosixPath(path).suffix
    if suffix in (".py", ".pyi"):
        try:
            ast.parse(text, filename=path)
        except SyntaxError as error:
            return python_syntax_error(error)
        except (RecursionError, MemoryError):  # how ast gives up on deeply nested expressions
            return DEEP
        return ""
    language = TREE_SITTER.get(suffix)
    if language is None:
        return ""
    tree = Parser(language_of(language)).parse(text.encode("utf-8", "surrogatepass"))
    if not tree.root_node.has_error:
        return ""
    line = first_error_line(tree.root_node)
    return f"a syntax error at line {line}" if line else "a syntax error"


def python_syntax_error(error: SyntaxError) -> str:
    """ "line 3: expected ':'" (a NUL byte has no line)."""
    return f"line {error.lineno}: {error.msg}" if error.lineno else error.msg


def first_error_line(node: object) -> int:
    stack = [node]
    while stack:
        current = stack.pop(0)
        if getattr(current, "is_error", False) or getattr(current, "is_missing", False):
            row: int = current.start_point[0]  # type: ignore[attr-defined]
            return row + 1
        stack.extend(getattr(current, "children", []))
    return 0


TREE_SITTER: dict[str, Callable[[], object]] = {
    ".js": tree_sitter_javascript.language,
    ".mjs": tree_sitter_javascript.language,
    ".cjs": tree_sitter_javascript.language,
    ".jsx": tree_sitter_javascript.language,
    ".ts": tree_sitter_typescript.language_typescript,
    ".mts": tree_sitter_typescript.language_typescript,
    ".tsx": tree_sitter_typescript.language_tsx,
}


@functools.cache
def language_of(grammar: Callable[[], object]) -> Language:
    return Language(grammar())
