"""Whole-symbol edits: "replace function or class X of file F with this code" (pure).

Small models copy a search text inexactly but can write a whole function. The symbol is found
by its syntax (``symbol_spans``), the new code must define exactly that symbol (same name, same
kind, nothing else), it is indented to where the old one stood, and every other byte of the file
stays as it was; the file must still parse. Decorators or an ``export`` the new code leaves out
are kept (small models drop them). Otherwise nothing changes and the error says what failed.
"""

from __future__ import annotations

import difflib
import re
import textwrap
from dataclasses import dataclass
from pathlib import PurePosixPath

from bdg_tools.edits import syntax_problem
from bdg_tools.symbol_spans import NotParsedError, Symbol, python_symbols
from bdg_tools.symbol_spans_js import JS_SUFFIXES, js_symbols

MAX_LISTED = 40
UNCHANGED = "the new code is the same as the old: nothing changed"
_KEYWORDS = re.compile(r"^(?:export\s+|default\s+|async\s+|def\s+|class\s+|function\*?\s+|"
                       r"const\s+|let\s+|var\s+)+")  # fmt: skip
_FENCE = re.compile(r"^```[\w+-]*\n(.*?)\n?```$", re.S)
_COMMENTS = {"python": ("#",), "js": ("//", "/*", "*", ";")}


class SymbolError(ValueError):
    """The replacement cannot land; ``str(error)`` tells the model why and what to do."""


@dataclass(frozen=True)
class Replaced:
    content: str
    symbol: str  # the qualified name that was replaced
    line: int  # the first line of the new definition
    lines_removed: int
    lines_added: int
    note: str = ""


def language_of(path: str) -> str:
    """ "python", "js", or "" for a kind of file whose symbols are not read."""
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in (".py", ".pyi"):
        return "python"
    return "js" if suffix in JS_SUFFIXES else ""


def find_symbols(path: str, source: bytes, *, method_of: bool = False) -> list[Symbol]:
    """The functions and classes of ``source``; NotParsedError when it does not parse."""
    if language_of(path) == "python":
        return python_symbols(source)
    return js_symbols(path, source, method_of=method_of)


def clean_name(symbol: str) -> str:
    """``mul`` from what models send for it: ``def mul(a, b)``, ``Calc::mul``, ``Calc#mul``."""
    name = _KEYWORDS.sub("", symbol.strip()).replace("::", ".").replace("#", ".")
    return re.split(r"[\s(:=<{]", name, maxsplit=1)[0].strip(".")


def replace_symbol(path: str, content: str, symbol: str, code: str) -> Replaced:
    """``content`` with ``symbol`` replaced by ``code``, or SymbolError."""
    language = language_of(path)
    if not language:
        raise SymbolError(
            f"replace_symbol reads Python, JavaScript and TypeScript files, not {path}: use "
            "edit_file. Nothing was changed."
        )
    source = content.encode("utf-8", "surrogatepass")
    try:
        symbols = find_symbols(path, source)
    except NotParsedError as error:
        raise SymbolError(
            f"{path} does not parse now ({error}), so its functions cannot be found: fix it "
            "with edit_file. Nothing was changed."
        ) from error
    target = _locate(path, symbols, clean_name(symbol))
    text = _dedented(code)
    new = _the_definition(path, language, text, target)
    cut = target.start if new.wrapped or not target.wrapped else target.head
    kept = "" if cut == target.start else source[target.start : target.head].decode()
    first, *rest = text.split("\n")
    indented = "\n".join([first] + [target.indent + ln if ln.strip() else "" for ln in rest])
    edited = source[:cut] + indented.encode("utf-8", "surrogatepass") + source[target.end :]
    result = edited.decode("utf-8", "surrogatepass")
    problem = syntax_problem(path, result)
    if problem:
        raise SymbolError(
            f"after replacing {target.qualname}, {path} would not parse ({problem}). Nothing "
            "was changed."
        )
    old = source[target.start : target.end]
    note = UNCHANGED if result == content else ""
    if kept and not note:
        note = f"kept what stood before it, which the new code left out: {kept.strip()!r}"
    return Replaced(
        content=result,
        symbol=target.qualname,
        line=target.line,
        lines_removed=old.count(b"\n") + 1,
        lines_added=(kept + indented).count("\n") + 1,
        note=note,
    )


def _locate(path: str, symbols: list[Symbol], name: str) -> Symbol:
    found = [s for s in symbols if s.qualname == name]
    if not found:
        found = [s for s in symbols if s.qualname.endswith("." + name)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise SymbolError(_not_found(path, symbols, name))
    where = ", ".join(f"{s.qualname} (line {s.line})" for s in found)
    if len({s.qualname for s in found}) == 1:
        raise SymbolError(
            f"{name} is defined {len(found)} times in {path}: {where}; replace_symbol cannot "
            "tell them apart, change one with edit_file. Nothing was changed."
        )
    raise SymbolError(
        f"{name} names {len(found)} definitions in {path}: {where}; name one of them as "
        "Class.method. Nothing was changed."
    )


def _not_found(path: str, symbols: list[Symbol], name: str) -> str:
    if not symbols:
        return (
            f"{path} defines no functions or classes; change it with edit_file. Nothing was "
            "changed."
        )
    names = [s.qualname for s in symbols]
    by_name = {s.name: s.qualname for s in symbols} | {n: n for n in names}
    close = difflib.get_close_matches(name, list(by_name), n=1)
    guess = f" Did you mean {by_name[close[0]]}?" if close else ""
    listed = ", ".join(names[:MAX_LISTED]) + (", ..." if len(names) > MAX_LISTED else "")
    return (
        f"no function or class named {name!r} in {path}; it defines: {listed}.{guess} Nothing "
        "was changed."
    )


def _dedented(code: str) -> str:
    text = code.replace("\r\n", "\n").strip("\n")
    fenced = _FENCE.match(text.strip())
    if fenced:  # models wrap code in a markdown fence out of habit
        text = fenced.group(1)
    return textwrap.dedent(text).strip("\n").rstrip()


def _the_definition(path: str, language: str, text: str, target: Symbol) -> Symbol:
    """The one top-level definition ``text`` makes, checked against ``target``."""
    whole = f"send the whole definition of {target.qualname}, from its first line to its last"
    member = language == "js" and "." in target.qualname
    source = text.encode("utf-8", "surrogatepass")
    try:
        defined = find_symbols(path, source, method_of=member)
    except NotParsedError as error:
        if not member:
            raise SymbolError(f"the new code does not parse ({error}); {whole}. Nothing was "
                              "changed.") from error  # fmt: skip
        try:  # a whole class, or a function, sent for a method: named in the error below
            defined = find_symbols(path, source)
        except NotParsedError:
            raise SymbolError(f"the new code does not parse as a class member ({error}); "
                              f"{whole}. Nothing was changed.") from error  # fmt: skip
    tops = [s for s in defined if "." not in s.qualname]
    if not tops:
        raise SymbolError(f"the new code defines no function or class; {whole}. Nothing was "
                          "changed.")  # fmt: skip
    if len(tops) > 1:
        names = ", ".join(f"{s.kind} {s.qualname}" for s in tops)
        raise SymbolError(
            f"the new code defines {len(tops)} things ({names}); it must define only "
            f"{target.name}. Add other functions with edit_file. Nothing was changed."
        )
    new = tops[0]
    owner = target.qualname.rsplit(".", 1)[0] if "." in target.qualname else ""
    if owner and new.qualname == owner.rsplit(".", 1)[-1]:
        raise SymbolError(
            f"the new code is the whole class {new.qualname}; send only the method "
            f"{target.name}, or replace {owner} itself. Nothing was changed."
        )
    if new.name != target.name:
        raise SymbolError(
            f"the new code defines {new.qualname}, not {target.name}: replace_symbol replaces "
            f"{target.qualname} with a definition of the same name (rename with edit_file). "
            "Nothing was changed."
        )
    if new.kind != target.kind:
        raise SymbolError(
            f"the new code defines a {new.kind} {new.name}, but {target.qualname} in {path} is a "
            f"{target.kind}. Nothing was changed."
        )
    extra = _other_code(language, source[: new.start] + b"\n" + source[new.end :])
    if extra:
        raise SymbolError(
            f"the new code has more than the definition of {target.name} ({extra!r}); send only "
            "that definition, and add imports or other code with edit_file. Nothing was changed."
        )
    return new


def _other_code(language: str, rest: bytes) -> str:
    """The first line of ``rest`` that is neither blank nor a comment ("" when there is none)."""
    for line in rest.decode("utf-8", "replace").splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(_COMMENTS[language]):
            return stripped[:120]
    return ""
