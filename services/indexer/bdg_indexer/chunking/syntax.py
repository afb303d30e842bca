"""Cut proposals from a tree-sitter parse: Python, JavaScript/JSX, TypeScript/TSX.

Every named node that starts a line is a candidate cut, stronger the shallower it is, so a
too-large range is cut between its top-level declarations first, a too-large class between its
members, a too-large function between its statements, and so on down. One generic walk serves
every grammar; a grammar only names its transparent containers (which add no nesting depth),
its definitions and its classes (cuts between them are clean: no overlap).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import tree_sitter_javascript
import tree_sitter_python
import tree_sitter_typescript
from tree_sitter import Language, Node, Parser

from bdg_indexer.chunking.cuts import SYNTAX_BASE, SYNTAX_MIN, Cuts, text_cuts
from bdg_indexer.chunking.languages import JAVASCRIPT, JSX, PYTHON, TSX, TYPESCRIPT


@dataclass(frozen=True)
class Grammar:
    language: Callable[[], object]
    transparent: frozenset[str]  # bodies: their children sit at the depth of the body's owner
    definitions: frozenset[str]  # cuts before these are clean
    classes: frozenset[str]  # their bodies' members are separated by clean cuts
    attaching: frozenset[str]  # comments, decorators: they stay with the node right below
    closing: frozenset[str] = frozenset()  # closing tags: they stay with what they close


_PYTHON = Grammar(
    language=tree_sitter_python.language,
    transparent=frozenset({"module", "block"}),
    definitions=frozenset({"function_definition", "class_definition", "decorated_definition"}),
    classes=frozenset({"class_definition"}),
    attaching=frozenset({"comment", "decorator"}),
)
_JS_DEFINITIONS = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "class_declaration",
        "method_definition",
        "field_definition",
        "export_statement",
    }
)
_TS_DEFINITIONS = _JS_DEFINITIONS | {
    "abstract_class_declaration",
    "interface_declaration",
    "type_alias_declaration",
    "enum_declaration",
    "internal_module",
    "module",
    "ambient_declaration",
    "function_signature",
    "public_field_definition",
    "method_signature",
    "abstract_method_signature",
}
_JS_TRANSPARENT = frozenset({"program", "statement_block", "class_body"})
_TS_TRANSPARENT = _JS_TRANSPARENT | {"interface_body", "enum_body", "object_type"}
_JS_CLASSES = frozenset({"class_declaration", "class"})
_TS_CLASSES = _JS_CLASSES | {
    "abstract_class_declaration",
    "interface_declaration",
    "enum_declaration",
}
_JS_ATTACHING = frozenset({"comment", "decorator"})
_JS_CLOSING = frozenset({"jsx_closing_element"})
_JAVASCRIPT = Grammar(
    tree_sitter_javascript.language,
    _JS_TRANSPARENT,
    _JS_DEFINITIONS,
    _JS_CLASSES,
    _JS_ATTACHING,
    _JS_CLOSING,
)

GRAMMARS: dict[str, Grammar] = {
    PYTHON: _PYTHON,
    JAVASCRIPT: _JAVASCRIPT,
    JSX: _JAVASCRIPT,  # tree-sitter-javascript parses JSX
    TYPESCRIPT: Grammar(
        tree_sitter_typescript.language_typescript,
        _TS_TRANSPARENT,
        _TS_DEFINITIONS,
        _TS_CLASSES,
        _JS_ATTACHING,
        _JS_CLOSING,
    ),
    TSX: Grammar(
        tree_sitter_typescript.language_tsx,
        _TS_TRANSPARENT,
        _TS_DEFINITIONS,
        _TS_CLASSES,
        _JS_ATTACHING,
        _JS_CLOSING,
    ),
}


@functools.cache
def _language(grammar: Grammar) -> Language:
    return Language(grammar.language())


def syntax_cuts(language: str, text: str, lines: list[str]) -> Cuts | None:
    """Cuts from the syntax tree, or None when the file does not parse cleanly."""
    grammar = GRAMMARS.get(language)
    if grammar is None:
        return None
    # surrogatepass: a str with lone surrogates still gets bytes (the parse then has errors).
    source = text.encode("utf-8", "surrogatepass")
    tree = Parser(_language(grammar)).parse(source)
    if tree.root_node.has_error:
        return None
    cuts = text_cuts(lines)
    _walk(tree.root_node, grammar, cuts, source)
    return cuts


def _line_starts(source: bytes) -> list[int]:
    starts = [0]
    at = source.find(b"\n")
    while at != -1:
        starts.append(at + 1)
        at = source.find(b"\n", at + 1)
    return starts


def _walk(root: Node, grammar: Grammar, cuts: Cuts, source: bytes) -> None:
    line_starts = _line_starts(source)

    def starts_its_line(child: Node, row: int) -> bool:
        # Only indentation before it: cutting at that line's start keeps the node whole.
        return row < len(line_starts) and not source[line_starts[row] : child.start_byte].strip()

    # An explicit stack: generated code can nest deeper than Python's recursion limit.
    # Entries: a node, the depth of its children, whether its children are class members.
    stack: list[tuple[Node, int, bool]] = [(root, 0, False)]
    while stack:
        node, depth, members = stack.pop()
        strength = max(SYNTAX_BASE - depth, SYNTAX_MIN)
        children = node.named_children
        previous_end = node.start_point.row  # a child on the node's first line is no cut
        # A header (`def f(...):`, `class A {`, `<div>`) stays with the first line below it.
        header = node.type not in grammar.transparent or (
            bool(children) and children[0].start_byte != node.start_byte
        )
        run_start: int | None = None  # first line of the comments/decorators right above
        run_end = -1
        for child in children:
            row, end = child.start_point.row, child.end_point.row
            attaching = child.type in grammar.attaching
            if header and row > previous_end:
                header = False
                run_start, run_end = None, -1
            elif (
                row > previous_end
                and child.type not in grammar.closing
                and starts_its_line(child, row)
            ):
                # A node right below comments/decorators is cut before them, not between.
                cut_at = run_start if run_start is not None and row == run_end + 1 else row
                clean = depth == 0 or members or child.type in grammar.definitions
                cuts.propose(cut_at, strength, clean)
                run_start, run_end = (cut_at, end) if attaching else (None, -1)
            elif not attaching:
                run_start, run_end = None, -1
            previous_end = max(previous_end, end)
            if end > row:
                transparent = child.type in grammar.transparent
                child_depth = depth if transparent else depth + 1
                stack.append((child, child_depth, transparent and node.type in grammar.classes))
