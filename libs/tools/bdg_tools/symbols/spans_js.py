"""Where a JavaScript or TypeScript file's functions and classes are (pure, tree-sitter).

Functions are ``function`` declarations, ``const f = (...) => ...`` / ``const f = function``
(one declarator), class methods and arrow-function class fields; classes are ``class``
declarations (``abstract`` too) and ``const C = class``. An ``export`` in front, and decorators
before a member, belong to the symbol.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from tree_sitter import Node, Parser

from bdg_tools.edits import TREE_SITTER, first_error_line, language_of
from bdg_tools.symbols.spans import Kind, NotParsedError, Symbol, trailing_end

JS_SUFFIXES = frozenset(TREE_SITTER)
_FUNCTIONS = frozenset({"function_declaration", "generator_function_declaration"})
_CLASSES = frozenset({"class_declaration", "abstract_class_declaration"})
_VARIABLES = frozenset({"lexical_declaration", "variable_declaration"})
_FUNCTION_VALUES = frozenset(
    {"arrow_function", "function_expression", "function", "generator_function"}
)
_MEMBERS = frozenset({"method_definition"})
_FIELDS = frozenset({"field_definition", "public_field_definition"})
# A lone class member is parsed inside this class (a method alone is no JavaScript program).
WRAPPER = b"class __BdgMember {\n"


def js_symbols(path: str, source: bytes, *, method_of: bool = False) -> list[Symbol]:
    grammar = TREE_SITTER[PurePosixPath(path).suffix.lower()]
    text = WRAPPER + source + b"\n}\n" if method_of else source
    tree = Parser(language_of(grammar)).parse(text)
    if tree.root_node.has_error:
        line = first_error_line(tree.root_node) - (1 if method_of else 0)
        raise NotParsedError(f"a syntax error at line {line}" if line > 0 else "a syntax error")
    found: list[Symbol] = []
    _walk(tree.root_node.named_children, "", text, found)
    if not method_of:
        return found
    shift, prefix = len(WRAPPER), "__BdgMember."
    return [
        Symbol(
            s.qualname.removeprefix(prefix), s.kind, s.start - shift, s.head - shift,
            s.end - shift, s.line - 1, s.wrapped, s.indent,
        )
        for s in found
        if s.qualname.startswith(prefix)
    ]  # fmt: skip


def _walk(nodes: list[Node], prefix: str, source: bytes, found: list[Symbol]) -> None:
    pending: Node | None = None  # the first of the decorators right before a member
    for node in nodes:
        if node.type == "decorator":
            pending = pending or node
            continue
        outer = pending or node
        pending = None
        inner: Node | None = node
        if node.type == "export_statement":
            inner = node.child_by_field_name("declaration") or _definition_child(node)
        if inner is None:
            continue
        named = _named(inner, source)
        if named is None or not named[0]:  # destructuring, computed names: not addressable
            continue
        name, kind, body = named
        qualname = prefix + name
        start, head = outer.start_byte, inner.start_byte
        line_start = source.rfind(b"\n", 0, start) + 1
        indent = source[line_start:start].decode(errors="replace")
        if indent.strip():  # something else before it on its line: keep only the whitespace
            indent = indent[: len(indent) - len(indent.lstrip())]
        line = outer.start_point[0] + 1
        end = trailing_end(source, inner.end_byte, indent, b"//")
        found.append(Symbol(qualname, kind, start, head, end, line, start < head, indent))
        if body is not None:
            _walk(body.named_children, qualname + ".", source, found)


def _definition_child(node: Node) -> Node | None:
    wanted = _FUNCTIONS | _CLASSES | _VARIABLES
    return next((child for child in node.named_children if child.type in wanted), None)


def _named(node: Node, source: bytes) -> tuple[str, Kind, Node | None] | None:
    """(name, kind, class body) of a definition node; None for anything else."""
    if node.type in _FUNCTIONS | _MEMBERS:
        return _text(node.child_by_field_name("name"), source), "function", None
    if node.type in _CLASSES:
        return _text(node.child_by_field_name("name"), source), "class", _body(node)
    if node.type in _FIELDS:
        value = node.child_by_field_name("value")
        if value is not None and value.type in _FUNCTION_VALUES:
            key = node.child_by_field_name("property") or node.child_by_field_name("name")
            return _text(key, source), "function", None
        return None
    if node.type in _VARIABLES:
        declarators = [c for c in node.named_children if c.type == "variable_declarator"]
        if len(declarators) != 1:
            return None
        value = declarators[0].child_by_field_name("value")
        variable = _text(declarators[0].child_by_field_name("name"), source)
        if value is not None and value.type in _FUNCTION_VALUES:
            return variable, "function", None
        if value is not None and value.type == "class":
            return variable, "class", _body(value)
    return None


def _body(node: Node) -> Node | None:
    return node.child_by_field_name("body")


def _text(node: Node | None, source: bytes) -> str:
    if node is None:
        return ""
    return source[node.start_byte : node.end_byte].decode(errors="replace")
