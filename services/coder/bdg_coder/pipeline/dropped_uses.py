"""What a rewritten definition dropped: the keys (short literals: a variable's name, a
dictionary key, a format) and the functions its old version used that the new one never
mentions.

Asked to extend load() with a "port" entry, the 1.5B returned load() with the host fixed to
"127.0.0.1": ``os.environ.get("HOST", ...)`` was gone (py-config-port, session 18); asked to
turn accents into plain letters, it dropped slugify()'s ``.trim()`` and its spaces-to-hyphens
``replace`` (js-slugify-accents). The visible tests do not always see it, and a reviewer
approved it. A small model rewriting a whole definition loses pieces of it; none of the dev
half's reference fixes drops a key or a call. Prose (a message with a space in it) is left
out: changing a message is a common goal; so is what the goal names, and what the run wrote
elsewhere (code moved into a new module takes its calls with it).
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Iterable

from bdg_tools.symbols.lookup import language_of

# A key, or a path's fixed part: tag_url()'s "/tags/" (in f"/tags/{slug}"), which the 1.5B's
# refactor lost twice, returning slugify(name) alone (py-refactor-slugify, session 24).
_KEY = re.compile(r"/?[A-Za-z_][\w.:/-]{0,39}")
_JS_STRING = re.compile(r"""'([^'\\\n]*)'|"([^"\\\n]*)"|`([^`\\]*)`""")
# Strings as the calls are looked for: a template's ${...} may call (`${slugify(t)}`).
_JS_FIXED_STRING = re.compile(r"""'([^'\\\n]*)'|"([^"\\\n]*)"|`([^`\\$]*)`""")
_JS_PLACEHOLDER = re.compile(r"\$\{[^}]*\}")
_JS_CALL = re.compile(r"([A-Za-z_$][\w$]*)\s*\(")
_JS_NOT_CALLS = frozenset(
    {"if", "for", "while", "switch", "catch", "function", "return", "typeof", "new", "await"}
)


def dropped_uses(
    path: str, old: str, new: str, goal: str, elsewhere: Iterable[str] = ()
) -> list[str]:
    """The keys and called names of ``old`` (in order, once each) that ``new`` does not
    contain, leaving out those the goal or ``elsewhere`` (code the run wrote) mentions."""
    kept = [new, goal, *elsewhere]
    keys = [k for k in _literals(path, old) if _KEY.fullmatch(k)]
    return [
        name
        for name in dict.fromkeys([*keys, *_calls(path, old)])
        if not any(_mentions(text, name) for text in kept)
    ]


def _mentions(text: str, name: str) -> bool:
    """Whether ``text`` has ``name`` as a whole word; a name's end that is no word character
    needs no boundary ("/tags/" is in `/tags/${slug}`)."""
    before = r"(?<![\w$])" if re.match(r"[\w$]", name) else ""
    after = r"(?![\w$])" if re.search(r"[\w$]$", name) else ""
    return re.search(before + re.escape(name) + after, text) is not None


def _in_order(code: str) -> list[ast.expr]:
    """The expressions of Python ``code`` in the order written; none when it does not parse."""
    try:
        tree = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return []
    docs = {id(_docstring(node)) for node in ast.walk(tree)}
    found = [n for n in ast.walk(tree) if isinstance(n, ast.expr) and id(n) not in docs]
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def _literals(path: str, code: str) -> list[str]:
    language = language_of(path)
    if language == "python":
        return [
            n.value
            for n in _in_order(code)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        ]
    if language == "js":  # a template's fixed parts apart: `/tags/${slug}` has "/tags/"
        strings = (next(g for g in m.groups() if g is not None) for m in _JS_STRING.finditer(code))
        return [part for text in strings for part in _JS_PLACEHOLDER.split(text) if part]
    return []


def _calls(path: str, code: str) -> list[str]:
    language = language_of(path)
    if language == "python":
        return [
            name for n in _in_order(code) if isinstance(n, ast.Call) and (name := _called(n.func))
        ]
    if language == "js":
        outside = _JS_FIXED_STRING.sub("''", code)  # a "(" inside a string calls nothing
        return [m.group(1) for m in _JS_CALL.finditer(outside) if m.group(1) not in _JS_NOT_CALLS]
    return []


def _called(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def _docstring(node: ast.AST) -> ast.AST | None:
    body = getattr(node, "body", None)
    if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
        value = body[0].value
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value
    return None
