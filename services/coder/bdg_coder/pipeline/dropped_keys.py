"""Keys a rewritten definition dropped: the short literals its old version used (a variable's
name, a dictionary key, a format) that the new one never mentions.

Asked to extend load() with a "port" entry, the 1.5B returned load() with the port and the host
fixed to "127.0.0.1": ``os.environ.get("HOST", ...)`` was gone, the visible tests still passed,
and the reviewer approved it (py-config-port, session 18). A small model rewriting a whole
definition loses pieces of it; keys are where it shows, since nothing else names them. Prose
(a message with a space in it) is left out: changing a message is a common goal.
"""

from __future__ import annotations

import ast
import re
import textwrap

from bdg_tools.symbols.lookup import language_of

_KEY = re.compile(r"[A-Za-z_][\w.:/-]{0,39}")
_JS_STRING = re.compile(r"""'([^'\\\n]*)'|"([^"\\\n]*)"|`([^`\\$]*)`""")


def dropped_keys(path: str, old: str, new: str, goal: str) -> list[str]:
    """The keys of ``old`` (in order, once each) that ``new`` does not contain, leaving out
    those the goal mentions (it may ask to change them)."""
    return [
        key
        for key in dict.fromkeys(_literals(path, old))
        if _KEY.fullmatch(key) and key not in new and key not in goal
    ]


def _literals(path: str, code: str) -> list[str]:
    language = language_of(path)
    if language == "python":
        try:
            tree = ast.parse(textwrap.dedent(code))
        except SyntaxError:
            return []
        docs = {id(_docstring(node)) for node in ast.walk(tree)}
        found = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docs
        ]  # fmt: skip
        return [str(n.value) for n in sorted(found, key=lambda n: (n.lineno, n.col_offset))]
    if language == "js":
        return [next(g for g in m.groups() if g is not None) for m in _JS_STRING.finditer(code)]
    return []


def _docstring(node: ast.AST) -> ast.AST | None:
    body = getattr(node, "body", None)
    if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
        value = body[0].value
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value
    return None
