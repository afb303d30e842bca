"""Whole-symbol edits: "replace function or class X of file F with this code" (pure).

Small models copy a search text inexactly but can write a whole function. The symbol is found
by its syntax (``lookup``), the new code must define exactly that symbol (same name, same kind,
nothing else), it is indented to where the old one stood, and every other byte of the file
stays as it was; the file must still parse. Decorators or an ``export`` the new code leaves out
are kept (small models drop them). Otherwise nothing changes and the error says what failed.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

from bdg_tools.edits import syntax_problem
from bdg_tools.symbols.lookup import SymbolError, clean_name, find_symbols, language_of, locate
from bdg_tools.symbols.spans import NotParsedError, Symbol

UNCHANGED = "the new code is the same as the old: nothing changed"
_FENCE = re.compile(r"^```[\w+-]*\n(.*?)\n?```$", re.S)
_COMMENTS = {"python": ("#",), "js": ("//", "/*", "*", ";")}


@dataclass(frozen=True)
class Replaced:
    content: str
    symbol: str  # the qualified name that was replaced
    line: int  # the first line of the new definition
    lines_removed: int
    lines_added: int
    note: str = ""


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
    target = locate(path, symbols, clean_name(symbol))
    text = _dedented(code)
    new = _the_definition(path, language, text, target)
    cut = target.start if new.wrapped or not target.wrapped else target.head
    kept = "" if cut == target.start else source[target.start : target.head].decode()
    first, *rest = text.split("\n")
    indented = "\n".join([first] + [target.indent + ln if ln.strip() else "" for ln in rest])
    if b"\r\n" in source[target.start : target.end]:  # a Windows file stays one
        indented = indented.replace("\n", "\r\n")
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
