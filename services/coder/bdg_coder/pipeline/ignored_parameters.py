"""A parameter the change added that some results of the definition never see (pure, Python).

Asked for ``sort_lines(..., reverse=False)`` that sorts in descending order "also together with
--numeric", the 1.5B wrote ``return sorted(lines, key=float) if numeric else sorted(lines,
reverse=reverse)``: the numeric path ignores the new flag. Its own test checked the other
path, the reviewer approved, and the job reached the deploy approval with a wrong change
(py-sortlines-reverse, done-but-wrong in every session since 16). Whether an added parameter
reaches every result is a fact of the code, so it is checked, not asked of a model:

- a parameter the new definition never reads;
- a ``return`` whose value depends on it neither by data (the value reads it, or a name
  computed from it) nor by control (an enclosing ``for`` over a value that does), split at
  conditional expressions: one branch of ``a if numeric else b`` may miss it.

Left alone, where missing it can be right: a parameter read in any condition (``if strict:
raise ...`` refuses rather than changes a result; ``x if reverse else y`` chooses by it), a
``return`` of a literal (``return []``, ``return None``: an early exit), a definition that is
new (every parameter is), and code that does not parse.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True)
class Ignored:
    """``name`` is never read (``returned`` ""), or ``returned`` is a result computed without
    it, ``when`` (a condition's source, "" for always) holds."""

    name: str
    returned: str = ""
    when: str = ""


def ignored_parameters(old: str, new: str) -> list[Ignored]:
    """The parameters ``new`` adds to the Python function ``old`` that some of its results
    ignore, in signature order ([] when either does not parse as one function)."""
    before, after = _function(old), _function(new)
    if before is None or after is None:
        return []
    had = set(_parameters(before))
    found = (_ignored(after, name) for name in _parameters(after) if name not in had)
    return [ignored for ignored in found if ignored is not None]


def _function(code: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    try:
        tree = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return None
    functions = [node for node in tree.body if isinstance(node, _FUNCTIONS)]
    return functions[0] if len(functions) == 1 else None


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    args = function.args
    every = [*args.posonlyargs, *args.args, args.vararg, *args.kwonlyargs, args.kwarg]
    return [a.arg for a in every if a is not None and a.arg not in ("self", "cls")]


def _reads(node: ast.AST | None) -> set[str]:
    """The names ``node`` reads, nested lambdas and functions included (a closure reads the
    parameter: ``key=lambda s: s.lower() if ignore_case else s``)."""
    if node is None:
        return set()
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _written(target: ast.AST) -> set[str]:
    """The names an assignment to ``target`` changes: ``x``, ``x[i]`` and ``x.a`` change x."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, ast.Subscript | ast.Attribute | ast.Starred):
        return _written(target.value)
    if isinstance(target, ast.Tuple | ast.List):
        return set().union(*(_written(e) for e in target.elts))
    return set()


def condition_reads(function: ast.AST) -> set[str]:
    """The names read by the definition's conditions."""
    names: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.If | ast.While | ast.IfExp | ast.Assert):
            names |= _reads(node.test)
        elif isinstance(node, ast.comprehension):
            names |= set().union(*(_reads(test) for test in node.ifs))
        elif isinstance(node, ast.Match):
            names |= _reads(node.subject)
    return names


def _flows(body: list[ast.stmt], control: frozenset[str]) -> Iterator[tuple[set[str], set[str]]]:
    """(names written, names the writes depend on) for each write in ``body``; ``control``:
    what the enclosing loops iterate over (a name filled in the loop depends on it)."""
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.NamedExpr):
                yield _written(node.target), _reads(node.value) | control
        if isinstance(stmt, ast.Assign):
            yield set().union(*map(_written, stmt.targets)), _reads(stmt.value) | control
        elif isinstance(stmt, ast.AugAssign | ast.AnnAssign):
            yield _written(stmt.target), _reads(stmt.value) | _reads(stmt.target) | control
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            func = stmt.value.func  # out.append(x) fills out
            if isinstance(func, ast.Attribute):
                yield _written(func.value), _reads(stmt.value) | control
        elif isinstance(stmt, ast.For | ast.AsyncFor):
            inner = control | _reads(stmt.iter)
            yield _written(stmt.target), set(inner)
            yield from _flows([*stmt.body, *stmt.orelse], inner)
        elif isinstance(stmt, ast.With | ast.AsyncWith):
            for item in stmt.items:
                if item.optional_vars is not None:
                    yield _written(item.optional_vars), _reads(item.context_expr) | control
            yield from _flows(stmt.body, control)
        elif isinstance(stmt, ast.If | ast.While):
            yield from _flows([*stmt.body, *stmt.orelse], control)
        elif isinstance(stmt, ast.Try):
            handlers = [s for h in stmt.handlers for s in h.body]
            yield from _flows([*stmt.body, *handlers, *stmt.orelse, *stmt.finalbody], control)


def _tainted(function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> set[str]:
    return tainted_by(_flows(function.body, frozenset()), name)


def tainted_by(writes: Iterable[tuple[set[str], set[str]]], name: str) -> set[str]:
    """``name`` and every name computed from it, directly or through others, given each
    write's (names written, names it depends on)."""
    flows = list(writes)
    tainted = {name}
    grew = True
    while grew:
        grew = False
        for written, read in flows:
            if read & tainted and not written <= tainted:
                tainted |= written
                grew = True
    return tainted


def _returns(
    body: list[ast.stmt], control: frozenset[str], when: str
) -> Iterator[tuple[ast.expr, frozenset[str], str]]:
    """(value, names the path to it iterates over, the innermost condition's source) of each
    ``return`` with a value in ``body``."""
    for stmt in body:
        if isinstance(stmt, ast.Return) and stmt.value is not None:
            yield stmt.value, control, when
        elif isinstance(stmt, ast.If):
            test = ast.unparse(stmt.test)
            yield from _returns(stmt.body, control, test)
            yield from _returns(stmt.orelse, control, _negated(stmt.test))
        elif isinstance(stmt, ast.For | ast.AsyncFor):
            inner = control | _reads(stmt.iter)
            yield from _returns([*stmt.body, *stmt.orelse], inner, when)
        elif isinstance(stmt, ast.While | ast.With | ast.AsyncWith):
            yield from _returns([*stmt.body, *getattr(stmt, "orelse", [])], control, when)
        elif isinstance(stmt, ast.Try):
            handlers = [s for h in stmt.handlers for s in h.body]
            every = [*stmt.body, *handlers, *stmt.orelse, *stmt.finalbody]
            yield from _returns(every, control, when)


def _negated(test: ast.expr) -> str:
    simple = isinstance(test, ast.Name | ast.Attribute | ast.Call | ast.Subscript)
    return f"not {ast.unparse(test)}" if simple else f"not ({ast.unparse(test)})"


def _trivial(value: ast.expr) -> bool:
    if isinstance(value, ast.Constant):
        return True
    if isinstance(value, ast.List | ast.Tuple | ast.Set):
        return not value.elts
    return isinstance(value, ast.Dict) and not value.keys


def _missed(value: ast.expr, tainted: set[str], when: str) -> tuple[ast.expr, str] | None:
    """The part of a returned ``value`` computed without ``tainted``, and when it is returned."""
    if isinstance(value, ast.IfExp):
        test = ast.unparse(value.test)
        return _missed(value.body, tainted, test) or _missed(
            value.orelse, tainted, _negated(value.test)
        )
    return None if _reads(value) & tainted or _trivial(value) else (value, when)


def _ignored(function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> Ignored | None:
    if name not in set().union(*(_reads(stmt) for stmt in function.body)):
        return Ignored(name)
    tainted = _tainted(function, name)
    if condition_reads(function) & tainted:
        return None
    for value, control, when in _returns(function.body, frozenset(), ""):
        if control & tainted:
            continue
        missed = _missed(value, tainted, when)
        if missed is not None:
            return Ignored(name, ast.unparse(missed[0]), missed[1])
    return None
