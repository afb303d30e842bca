"""A parameter the goal lets callers leave out that the definition needs anyway (pure).

Asked for ``pluralize(count, singular, plural)`` "using plural when given and singular + "s"
when not", the 1.5B wrote ``count === 1 ? ... : `${count} ${plural}```: called without
``plural`` it says "2 undefined". Its own test and the goal's example always passed
``plural``, the reviewer approved, and the job reached the deploy approval with it (js-pluralize,
agent bench, dev half, session 22). That a parameter may be left out is in the goal's words;
whether the code copes is a fact of the code, so it is checked, not asked of a model.

The goal names a parameter of the new definition as one that may be missing: "``plural`` when
given", "if ``sep`` is omitted", "an optional ``limit``", "``limit`` defaults to". The code
copes when the signature gives it a default, or something reads it to decide: a condition
(``if``, a conditional expression), a fallback (``??``, ``||``, ``or``), a comparison with
``None`` / ``undefined`` / ``null``, ``typeof``. Anything else is asked again once.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Sequence

from tree_sitter import Node

from bdg_coder.pipeline.ignored_parameters import condition_reads
from bdg_coder.pipeline.ignored_parameters_js import js_condition_reads, js_function, walk

_GIVEN = r"(?:given|provided|passed|supplied|present|set)(?!\s+(?:as|to|in|by|with|a|an|the)\b)"
_MISSING = r"(?:omitted|missing|left\s+out|absent|not\s+(?:given|provided|passed|supplied|set))"
_GAP = r"[^.;:\n]{0,40}?"  # a few words within the clause: "plural when given", not the next one
_PHRASES = (  # NAME: the parameter
    rf"NAME\b{_GAP}(?i:\b(?:when|if|where)\s+(?:it\s+is\s+|it's\s+)?{_GIVEN})",
    rf"NAME\b{_GAP}(?i:\b(?:when|if)\s+(?:it\s+is\s+|it's\s+)?{_MISSING})",
    rf"(?i:\b(?:when|if)\s+)`?NAME`?\s+(?i:(?:is|are)\s+)?(?i:{_GIVEN}|{_MISSING})",
    r"(?i:\boptional(?:ly)?\s+(?:(?:parameter|argument|arg)\s+)?)`?NAME\b",
    r"NAME`?\s+(?i:(?:is|are)\s+optional|(?:may|can)\s+be\s+(?:omitted|left\s+out))",
    r"NAME`?\s+(?i:defaults?\s+to|defaulting\s+to)\b",
    r"(?i:\bwithout\s+(?:an?\s+|the\s+)?)`?NAME\b",
)
_FALLBACKS = frozenset({"??", "||", "&&"})
_EQUALITY = frozenset({"===", "==", "!==", "!="})
_NOTHING = frozenset({"undefined", "null"})


def optional_in_goal(goal: str, names: Sequence[str]) -> list[str]:
    """Which of ``names`` (a definition's parameters) the goal says may be left out."""
    found = []
    for name in names:
        escaped = rf"(?<![\w.]){re.escape(name)}"
        if any(re.search(p.replace("NAME", escaped), goal) for p in _PHRASES):
            found.append(name)
    return found


def unhandled_optional(goal: str, suffix: str, code: str) -> list[str]:
    """The parameters of the one function in ``code`` (Python for ``.py``, else JavaScript or
    TypeScript) that the goal lets callers leave out and the code neither defaults nor reads to
    decide, in signature order ([] when it is not one function that parses)."""
    if suffix == ".py":
        return _python(goal, code)
    function = js_function(suffix, code)
    if function is None:
        return []
    params, defaulted = _js_parameters(function)
    wanted = optional_in_goal(goal, params)
    if not wanted:
        return []
    coped = defaulted | js_condition_reads(function) | _js_decided(function)
    return [name for name in wanted if name not in coped]


def _python(goal: str, code: str) -> list[str]:
    try:
        tree = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return []
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    if len(functions) != 1:
        return []
    args = functions[0].args
    positional = [*args.posonlyargs, *args.args]
    params = [a.arg for a in [*positional, *args.kwonlyargs] if a.arg not in ("self", "cls")]
    wanted = optional_in_goal(goal, params)
    if not wanted:
        return []
    defaulted = {a.arg for a in positional[len(positional) - len(args.defaults) :]}
    defaulted |= {a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d}
    coped = defaulted | condition_reads(functions[0]) | _py_decided(functions[0])
    return [name for name in wanted if name not in coped]


def _py_decided(function: ast.AST) -> set[str]:
    """Names a fallback (``x or y``) or a comparison (``x is None``) reads directly."""
    names: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.BoolOp):
            names |= {v.id for v in node.values if isinstance(v, ast.Name)}
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            names |= {v.id for v in operands if isinstance(v, ast.Name)}
    return names


def _js_parameters(function: Node) -> tuple[list[str], set[str]]:
    """The function's simple parameters in order, and those given a default value."""
    params = function.child_by_field_name("parameters") or function.child_by_field_name("parameter")
    if params is None:
        return [], set()
    if params.type == "identifier":  # `x => ...`
        return [_text(params)], set()
    names: list[str] = []
    defaulted: set[str] = set()
    for param in params.named_children:
        # JavaScript: `p` or `p = d`; TypeScript: required/optional_parameter(pattern, value)
        inner = param.child_by_field_name("pattern") or param
        left = inner.child_by_field_name("left") if inner.type == "assignment_pattern" else inner
        if left is None or left.type != "identifier":
            continue
        names.append(_text(left))
        if inner.type == "assignment_pattern" or param.child_by_field_name("value"):
            defaulted.add(_text(left))
    return names, defaulted


def _js_decided(function: Node) -> set[str]:
    """Names read by a fallback (``a ?? b``, ``a || b``, ``a ??= b``), a comparison with
    ``undefined`` / ``null``, or ``typeof``."""
    names: set[str] = set()
    for node in walk(function):
        operands = [node.child_by_field_name(f) for f in ("left", "right")]
        idents = {_text(o) for o in operands if o is not None and o.type == "identifier"}
        operator = node.child_by_field_name("operator")
        symbol = _text(operator) if operator is not None else ""
        if node.type == "binary_expression" and symbol in _FALLBACKS:
            names |= idents
        elif node.type == "binary_expression" and symbol in _EQUALITY:
            if any(o is not None and _text(o) in _NOTHING for o in operands):
                names |= idents
        elif node.type == "augmented_assignment_expression" and symbol in ("??=", "||="):
            names |= idents
        elif node.type == "unary_expression" and symbol == "typeof":
            argument = node.child_by_field_name("argument")
            if argument is not None and argument.type == "identifier":
                names.add(_text(argument))
    return names


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "surrogatepass")
