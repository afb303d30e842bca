"""A new test of a new function needs the function imported: added for the model (pure).

The test file imports what the base had (``import { capitalize } from "../src/words.js"``); a
test of the new ``pluralize`` the change adds then fails with "pluralize is not defined" on
every candidate, whatever the code (seen on every new-function task of the agent bench). The
names the change defines are added to the test file's existing import of their module, or, in
JavaScript, a new import line is added after the others. A new Python line only where the
module's name can be told (``module_name``): where modules are importable from depends on the
project's layout, which its own imports show. The same holds for a source file using a
function the change wrote in a new module.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath

from bdg_coder.pipeline.missing_imports import inserted

_JS_NAMED = re.compile(
    r"^(import\s*\{)([^}]*)(\}\s*from\s*)(['\"])([^'\"]+)\4(\s*;?)[ \t]*$", re.MULTILINE
)
_JS_ANY_IMPORT = re.compile(r"^import\b[^\n]*$", re.MULTILINE)
_PY_FROM = re.compile(r"^(from\s+)([\w.]+)(\s+import\s+)([\w ,]+?)[ \t]*$", re.MULTILINE)
_JS_SUFFIXES = (".js", ".mjs", ".cjs", ".ts", ".jsx", ".tsx")


def with_imports(
    test_path: str,
    content: str,
    source_path: str,
    names: Sequence[str],
    files: Mapping[str, str] | None = None,
) -> str:
    """``content`` (the test file, or a source file) importing ``names`` from ``source_path``
    too; ``files``: the project's, to tell a Python module's name by (``module_name``)."""
    if not names:
        return content
    if test_path.endswith(".py"):
        return _python(content, source_path, names, files or {})
    if test_path.endswith(_JS_SUFFIXES):
        return _javascript(test_path, content, source_path, names)
    return content


def _javascript(test_path: str, content: str, source_path: str, names: Sequence[str]) -> str:
    bound = [n.strip() for m in _JS_NAMED.finditer(content) for n in m.group(2).split(",")]
    names = [n for n in names if not _bound(bound, n)]  # the model's test may import it itself
    if not names:
        return content
    here = posixpath.dirname(test_path)
    wanted = {source_path, _strip_suffix(source_path)}
    for match in _JS_NAMED.finditer(content):
        spec = match.group(5)
        if not spec.startswith(".") or posixpath.normpath(posixpath.join(here, spec)) not in wanted:
            continue
        have = [n.strip() for n in match.group(2).split(",") if n.strip()]
        listed = " " + ", ".join(have + list(names)) + " "
        start, end = match.span(2)
        return content[:start] + listed + content[end:]
    spec = posixpath.relpath(source_path, here or ".")
    spec = spec if spec.startswith(".") else f"./{spec}"
    line = f'import {{ {", ".join(names)} }} from "{spec}";'
    imports = list(_JS_ANY_IMPORT.finditer(content))
    if not imports:
        return f"{line}\n{content}"
    at = imports[-1].end()
    return content[:at] + "\n" + line + content[at:]


def _python(content: str, source_path: str, names: Sequence[str], files: Mapping[str, str]) -> str:
    bound = [n.strip() for m in _PY_FROM.finditer(content) for n in m.group(4).split(",")]
    names = [n for n in names if not _bound(bound, n)]
    if not names:
        return content
    stem = PurePosixPath(source_path).stem
    dotted = _strip_suffix(source_path).replace("/", ".")
    for match in _PY_FROM.finditer(content):
        module = match.group(2)
        if module.rsplit(".", 1)[-1] != stem and not dotted.endswith(module):
            continue
        have = [n.strip() for n in match.group(4).split(",") if n.strip()]
        start, end = match.span(4)
        return content[:start] + ", ".join(have + list(names)) + content[end:]
    module = module_name(source_path, files)
    if not module:
        return content
    try:
        return inserted(content, [f"from {module} import {', '.join(names)}"])
    except SyntaxError:
        return content  # not Python we can place a line in: as it is


_PY_IMPORTED = re.compile(r"^(?:from\s+([\w.]+)\s+import\b|import\s+([\w.]+))", re.MULTILINE)


def module_name(path: str, files: Mapping[str, str]) -> str:
    """The dotted name a Python file is imported by in this project ("" when no import in
    ``files`` tells it, and it is not at the top): an import of another file of the project
    shows which folder is on the path (``from posts import post_url`` and ``posts.py``: the
    top; ``from app.db import`` and ``src/app/db.py``: ``src/``)."""
    for content in files.values():
        for match in _PY_IMPORTED.finditer(content):
            module = match.group(1) or match.group(2)
            tail = module.replace(".", "/") + ".py"
            for known in files:
                if known != tail and not known.endswith(f"/{tail}"):
                    continue
                root = known[: len(known) - len(tail)]
                if path.startswith(root) and path.endswith(".py"):
                    return _strip_suffix(path[len(root) :]).replace("/", ".")
    # A file at the top is imported by its stem wherever the project's top-level modules are
    # importable at all; deeper, a package layout could put any folder on the path.
    return _strip_suffix(path) if "/" not in path and path.endswith(".py") else ""


def _bound(have: Sequence[str], name: str) -> bool:
    """``name`` is imported already, as itself or as an alias (``x as name``)."""
    return any(item.split(" as ")[-1].strip() == name for item in have)


def _strip_suffix(path: str) -> str:
    stem, suffix = posixpath.splitext(path)
    return stem if suffix else path
