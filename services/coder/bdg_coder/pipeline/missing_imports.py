"""Names a Python definition uses but its file neither defines nor imports (pure), and the
imports that are no guess: a ``typing`` name (``Dict``, ``Optional``), a standard module used
by name (``re``, ``json``), ``pytest`` in a test file.

The rewrite lands one definition and nothing else, so the 1.5B's ``def load() -> Dict[str,
Union[str, int]]`` failed both attempts of a task with ``NameError: name 'Dict' is not
defined`` on the agent bench. Scopes are Python's own (``symtable``): a name is undefined where
Python would look it up in the module and find nothing there or in builtins. Any other new
undefined name is said to the model, whose retry turn can fix it.
"""

from __future__ import annotations

import ast
import builtins
import symtable
import sys
import typing

_MODULE_NAMES = frozenset(
    {"__name__", "__file__", "__doc__", "__spec__", "__loader__", "__package__", "__path__",
     "__builtins__", "__annotations__", "__dict__", "__class__"}
)  # fmt: skip
_TYPING = frozenset(typing.__all__)


def undefined(path: str, content: str) -> set[str]:
    """The names ``content`` uses that Python would not find (empty when it does not parse, is
    not Python, or imports ``*``: then anything may be defined)."""
    if not path.endswith(".py"):
        return set()
    try:
        tree = ast.parse(content)
        table = symtable.symtable(content, path, "exec")
    except (SyntaxError, ValueError):
        return set()
    if any(isinstance(n, ast.ImportFrom) and n.names[0].name == "*" for n in tree.body):
        return set()
    bound = {
        s.get_name()
        for s in table.get_symbols()
        if s.is_assigned() or s.is_imported() or s.is_namespace() or s.is_declared_global()
    }
    known = bound | set(dir(builtins)) | _MODULE_NAMES
    found: set[str] = set()
    tables = [table]
    while tables:
        scope = tables.pop()
        tables.extend(scope.get_children())
        for symbol in scope.get_symbols():
            name = symbol.get_name()
            looked_up_globally = scope is table or symbol.is_global()
            if symbol.is_referenced() and looked_up_globally and name not in known:
                found.add(name)
    return found


def importable(name: str, test_file: bool) -> str:
    """The import line that defines ``name`` without a guess ("" when there is none)."""
    if name in _TYPING:
        return f"from typing import {name}"
    if name in sys.stdlib_module_names and not name.startswith("_"):
        return f"import {name}"
    if test_file and name == "pytest":
        return "import pytest"
    return ""


def add_missing_imports(
    path: str, before: str, after: str, test_file: bool = False
) -> tuple[str, list[str]]:
    """``after`` with the imports its new undefined names need, and the names no import
    gives (sorted). Names already undefined in ``before`` are not the change's doing."""
    new = sorted(undefined(path, after) - undefined(path, before))
    lines = {name: importable(name, test_file) for name in new}
    missing = [name for name, line in lines.items() if not line]
    modules = sorted(line for line in lines.values() if line.startswith("import "))
    hints = sorted(name for name, line in lines.items() if line.startswith("from typing "))
    wanted = modules + ([f"from typing import {', '.join(hints)}"] if hints else [])
    if not wanted:
        return after, missing
    return inserted(after, wanted), missing


def inserted(content: str, imports: list[str]) -> str:
    """``imports`` after the file's last top-level import (else after its docstring and
    ``__future__`` imports, else at the top)."""
    tree = ast.parse(content)
    at = 0
    for node in tree.body:
        is_doc = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        if isinstance(node, ast.Import | ast.ImportFrom) or (is_doc and node is tree.body[0]):
            at = node.end_lineno or at
        else:
            break
    lines = content.splitlines(keepends=True)
    block = "".join(f"{line}\n" for line in imports)
    if at == 0:
        return block + ("\n" if lines and lines[0].strip() else "") + content
    return "".join(lines[:at]) + block + "".join(lines[at:])
