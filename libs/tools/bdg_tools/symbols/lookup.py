"""Which function or class a model means (pure): the file's symbols by language, the name as
models write it, and an error that lists what the file defines when the name is not there."""

from __future__ import annotations

import difflib
import re
from pathlib import PurePosixPath

from bdg_tools.symbols.spans import Symbol, python_symbols
from bdg_tools.symbols.spans_js import JS_SUFFIXES, js_symbols

MAX_LISTED = 40
_KEYWORDS = re.compile(r"^(?:export\s+|default\s+|async\s+|def\s+|class\s+|function\*?\s+|"
                       r"const\s+|let\s+|var\s+)+")  # fmt: skip
_CLASS_HASH = re.compile(r"(?<=\w)#")  # Calc#mul (JSDoc), but not a private #field
_FILE = re.compile(r"^[\w./-]+\.(?:pyi?|[mc]?js|jsx|m?ts|tsx)(?:::|:|\.)(?=\S)")  # calc.py::add


class SymbolError(ValueError):
    """The replacement cannot land; ``str(error)`` tells the model why and what to do."""


def language_of(path: str) -> str:
    """The language of ``path``'s symbols: python, js, or "" (a kind of file not read)."""
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
    name = _FILE.sub("", _KEYWORDS.sub("", symbol.strip()))
    name = _CLASS_HASH.sub(".", name.replace("::", "."))
    return re.split(r"[\s(:=<{]", name, maxsplit=1)[0].strip(".")


def locate(path: str, symbols: list[Symbol], name: str) -> Symbol:
    """The one symbol ``name`` means: its qualified name, else the one member so named."""
    stem = PurePosixPath(path).stem
    if name.startswith(stem + ".") and not any(s.qualname == name for s in symbols):
        name = name[len(stem) + 1 :]  # calc.add: the module's name in front
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
