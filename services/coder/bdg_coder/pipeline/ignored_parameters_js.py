"""``ignored_parameters`` for JavaScript and TypeScript (pure, tree-sitter): the same rules on
``function`` declarations and expressions, arrow functions (an expression body is their one
result) and class methods (a method alone is parsed inside a class)."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node, Parser

from bdg_coder.pipeline.ignored_parameters import Ignored, tainted_by
from bdg_tools.edits import TREE_SITTER, language_of

_FUNCTIONS = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "function_expression",
        "function",
        "generator_function",
        "arrow_function",
        "method_definition",
    }
)
_CONDITIONS = {
    "if_statement": "condition",
    "while_statement": "condition",
    "do_statement": "condition",
    "for_statement": "condition",
    "ternary_expression": "condition",
    "switch_statement": "value",
}
_LITERALS = frozenset({"number", "string", "true", "false", "null", "undefined", "regex"})
_WRAPPER = "class __BdgMember {\n"
Result = tuple[Node, frozenset[str], str]  # a returned value, the loops over it, its condition


def js_ignored_parameters(suffix: str, old: str, new: str) -> list[Ignored]:
    """The parameters ``new`` adds to the function ``old`` that some of its results ignore."""
    before, after = js_function(suffix, old), js_function(suffix, new)
    if before is None or after is None:
        return []
    had = set(_parameters(before))
    found = (_ignored(after, name) for name in _parameters(after) if name not in had)
    return [ignored for ignored in found if ignored is not None]


def js_function(suffix: str, code: str) -> Node | None:
    grammar = TREE_SITTER.get(suffix)
    if grammar is None or not code.strip():
        return None
    parser = Parser(language_of(grammar))
    for text in (code, f"{_WRAPPER}{code}\n}}\n"):
        root = parser.parse(text.encode("utf-8", "surrogatepass")).root_node
        if not root.has_error:
            found = list(_outermost(root))
            return found[0] if len(found) == 1 else None
    return None


def _outermost(node: Node) -> Iterator[Node]:
    for child in node.named_children:
        if child.type in _FUNCTIONS:
            yield child
        else:
            yield from _outermost(child)


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "surrogatepass")


def _parameters(function: Node) -> list[str]:
    params = function.child_by_field_name("parameters") or function.child_by_field_name("parameter")
    return [n for n in _bound(params) if n not in ("this",)] if params is not None else []


def _bound(node: Node | None) -> list[str]:
    """The names a parameter pattern binds (not those its default values read)."""
    if node is None:
        return []
    if node.type in ("identifier", "shorthand_property_identifier_pattern"):
        return [_text(node)]
    if node.type in ("assignment_pattern", "object_assignment_pattern"):
        return _bound(node.child_by_field_name("left"))
    if node.type == "pair_pattern":
        return _bound(node.child_by_field_name("value"))
    if node.type in ("required_parameter", "optional_parameter"):
        return _bound(node.child_by_field_name("pattern"))
    if node.type in ("formal_parameters", "object_pattern", "array_pattern", "rest_pattern"):
        return [name for child in node.named_children for name in _bound(child)]
    return []


def walk(node: Node) -> Iterator[Node]:
    yield node
    for child in node.named_children:
        yield from walk(child)


def _reads(node: Node | None) -> set[str]:
    """The names ``node`` mentions, closures included (an over-count: fewer answers asked
    again, never more)."""
    if node is None:
        return set()
    kinds = ("identifier", "shorthand_property_identifier")
    return {_text(n) for n in walk(node) if n.type in kinds}


def _written(node: Node | None) -> set[str]:
    """The names an assignment to ``node`` changes: ``x``, ``x[i]``, ``x.a`` and patterns."""
    if node is None:
        return set()
    if node.type in ("member_expression", "subscript_expression"):
        return _written(node.child_by_field_name("object"))
    if node.type == "identifier":
        return {_text(node)}
    return set(_bound(node)) if node.type.endswith("pattern") else set()


def js_condition_reads(function: Node) -> set[str]:
    names: set[str] = set()
    for node in walk(function):
        field = _CONDITIONS.get(node.type)
        if field is not None:
            names |= _reads(node.child_by_field_name(field))
    return names


def _flows(node: Node, control: frozenset[str]) -> Iterator[tuple[set[str], set[str]]]:
    """(names written, names the writes depend on) under ``node``; ``control``: what the
    enclosing ``for ... of`` / ``in`` loops iterate over."""
    kind = node.type
    if kind == "variable_declarator":
        value = node.child_by_field_name("value")
        yield _written(node.child_by_field_name("name")), _reads(value) | control
    elif kind in ("assignment_expression", "augmented_assignment_expression"):
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        extra = _reads(left) if kind.startswith("augmented") else set()
        yield _written(left), _reads(right) | extra | control
    elif kind == "call_expression":
        callee = node.child_by_field_name("function")  # out.push(x) fills out
        if callee is not None and callee.type == "member_expression":
            yield _written(callee.child_by_field_name("object")), _reads(node) | control
    if kind == "for_in_statement":
        inner = control | _reads(node.child_by_field_name("right"))
        yield _written(node.child_by_field_name("left")), set(inner)
        for child in node.named_children:
            yield from _flows(child, inner)
        return
    for child in node.named_children:
        yield from _flows(child, control)


def _tainted(function: Node, name: str) -> set[str]:
    return tainted_by(_flows(function, frozenset()), name)


def _unwrapped(node: Node) -> Node:
    while node.type == "parenthesized_expression" and node.named_children:
        node = node.named_children[0]
    return node


def _negated(test: Node) -> str:
    simple = test.type in ("identifier", "member_expression", "call_expression")
    return f"!{_text(test)}" if simple else f"!({_text(test)})"


def _returns(node: Node, control: frozenset[str], when: str) -> Iterator[Result]:
    """(value, names the path to it iterates over, the innermost condition) of each
    ``return`` with a value under ``node``, not inside nested functions."""
    for child in node.named_children:
        kind = child.type
        if kind in _FUNCTIONS:
            continue
        if kind == "return_statement":
            if child.named_children:
                yield child.named_children[0], control, when
        elif kind == "if_statement":
            condition = child.child_by_field_name("condition")
            test = _unwrapped(condition) if condition is not None else None
            said = _text(test) if test is not None else ""
            consequence = child.child_by_field_name("consequence")
            if consequence is not None:
                yield from _returns_in(consequence, control, said)
            alternative = child.child_by_field_name("alternative")
            if alternative is not None:
                negated = _negated(test) if test is not None else ""
                yield from _returns(alternative, control, negated)
        elif kind == "for_in_statement":
            inner = control | _reads(child.child_by_field_name("right"))
            yield from _returns(child, frozenset(inner), when)
        else:
            yield from _returns(child, control, when)


def _returns_in(node: Node, control: frozenset[str], when: str) -> Iterator[Result]:
    """The returns of an ``if``'s branch, which may be one statement without braces."""
    if node.type == "return_statement":
        if node.named_children:
            yield node.named_children[0], control, when
        return
    yield from _returns(node, control, when)


def _trivial(value: Node) -> bool:
    value = _unwrapped(value)
    if value.type in _LITERALS or (value.type == "identifier" and _text(value) == "undefined"):
        return True
    if value.type == "template_string":
        return not any(c.type == "template_substitution" for c in value.named_children)
    return value.type in ("array", "object") and not value.named_children


def _missed(value: Node, tainted: set[str], when: str) -> tuple[Node, str] | None:
    value = _unwrapped(value)
    if value.type == "ternary_expression":
        test = value.child_by_field_name("condition")
        body = value.child_by_field_name("consequence")
        orelse = value.child_by_field_name("alternative")
        if test is None or body is None or orelse is None:
            return None
        test = _unwrapped(test)
        return _missed(body, tainted, _text(test)) or _missed(orelse, tainted, _negated(test))
    return None if _reads(value) & tainted or _trivial(value) else (value, when)


def _ignored(function: Node, name: str) -> Ignored | None:
    body = function.child_by_field_name("body")
    if body is None:
        return None
    if name not in _reads(body):
        return Ignored(name)
    tainted = _tainted(body, name)
    if js_condition_reads(body) & tainted:
        return None
    results = (
        _returns(body, frozenset(), "")
        if body.type == "statement_block"
        else iter([(body, frozenset[str](), "")])  # an arrow function's expression body
    )
    for value, control, when in results:
        if control & tainted:
            continue
        missed = _missed(value, tainted, when)
        if missed is not None:
            return Ignored(name, _text(missed[0]), missed[1])
    return None
