"""A whole-file write that would drop definitions (pure): keep them, or refuse the write.

Small models rewrite a whole existing file through ``file_write`` with only the function they
changed, and the rest of the module is gone (a live bench run lost ``lerp``, and a ``config.py``
shrank to one line). When the old content parses and the new one drops top-level functions or
classes it had (constants and imports alone may go: a deliberate rewrite drops those):

- if the new content is only whole functions and classes (plus lines the file already has and
  new one-line imports), each definition replaces its namesake (``replace_symbol``) or is added
  at the end, new imports go after the file's last import, and the rest of the file stays;
- otherwise the write is refused, naming what would be lost and the tools to use instead.

A deliberate deletion goes through ``edit_file`` (the definition's lines replaced by nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

from bdg_tools.definitions import MAX_NAMED, top_level_names
from bdg_tools.edits import syntax_problem
from bdg_tools.symbols.lookup import SymbolError, find_symbols, language_of
from bdg_tools.symbols.replace import replace_symbol
from bdg_tools.symbols.spans import NotParsedError, Symbol

_IMPORTS = {"python": ("import ", "from "), "js": ("import ",)}
_COMMENTS = {"python": ("#",), "js": ("//", "/*", "*")}


class WriteRefused(ValueError):
    """The write would drop definitions and cannot keep them; ``str(error)`` tells the model."""


@dataclass(frozen=True)
class Kept:
    content: str  # the file with the new definitions in and the dropped ones kept
    note: str


def keep_definitions(path: str, old: str, new: str) -> Kept | None:
    """What to write instead of ``new`` when it drops ``old``'s top-level names; None when the
    write is fine as it is (nothing dropped, or a file whose definitions are not read)."""
    language = language_of(path)
    if not language:
        return None
    try:
        old_tops = _tops(path, old)
    except NotParsedError:
        return None  # a broken file is the model's to rewrite whole
    # Only functions and classes are kept: what a small model loses by accident. Constants and
    # imports are what a deliberate rewrite drops (the scenario's App.tsx drops its FILTERS).
    kept_names = set(top_level_names(path, new))
    gone = [s.qualname for s in old_tops if s.qualname not in kept_names]
    if not gone:
        return None
    try:
        new_tops = _tops(path, new)
    except NotParsedError as error:
        reason = f"the new content does not parse ({error})"
        raise WriteRefused(_refusal(path, gone, reason)) from error
    source = new.encode("utf-8", "surrogatepass")
    other, imports = _other_lines(language, old, source, new_tops)
    if other:
        reason = f"the new content has more than whole functions and classes ({other!r})"
        raise WriteRefused(_refusal(path, gone, reason))
    if not new_tops:
        raise WriteRefused(_refusal(path, gone, "the new content defines no function or class"))
    content, replaced, added = old, [], []
    existing = {s.qualname for s in old_tops}
    for symbol in new_tops:
        code = source[symbol.start : symbol.end].decode("utf-8", "surrogatepass")
        if symbol.qualname in existing:
            try:
                content = replace_symbol(path, content, symbol.qualname, code).content
            except SymbolError as error:
                raise WriteRefused(_refusal(path, gone, f"{symbol.qualname}: {error}")) from error
            replaced.append(symbol.qualname)
        else:
            gap = "\n\n\n" if language == "python" else "\n\n"
            content = content.rstrip("\n") + gap + code + "\n"
            added.append(symbol.qualname)
    content = _with_imports(language, content, imports)
    problem = syntax_problem(path, content)
    if problem:
        raise WriteRefused(_refusal(path, gone, f"the kept file would not parse ({problem})"))
    still = set(top_level_names(path, content))
    kept = [n for n in top_level_names(path, old) if n not in kept_names and n in still]
    done = [f"replaced {', '.join(replaced)}"] if replaced else []
    done += [f"added {', '.join(added)}"] if added else []
    done += [f"added the import {line!r}" for line in imports]
    note = (
        f"file_write got only part of {path}: {'; '.join(done)}, and kept {_names(kept)}, "
        "which the new content left out. To delete a definition, replace its lines with "
        "nothing using edit_file."
    )
    return Kept(content=content, note=note)


def _tops(path: str, text: str) -> list[Symbol]:
    source = text.encode("utf-8", "surrogatepass")
    return [s for s in find_symbols(path, source) if "." not in s.qualname]


def _other_lines(
    language: str, old: str, source: bytes, tops: list[Symbol]
) -> tuple[str, list[str]]:
    """The first line of the new content outside its definitions that the file does not have
    already and is no new one-line import ("" when none), and the new imports."""
    rest, at = [], 0
    for symbol in tops:
        rest.append(source[at : symbol.start])
        at = symbol.end
    rest.append(source[at:])
    have = {line.strip() for line in old.splitlines()}
    imports: list[str] = []
    for line in b"".join(rest).decode("utf-8", "surrogatepass").splitlines():
        stripped = line.strip()
        if not stripped or stripped in have or stripped.startswith(_COMMENTS[language]):
            continue
        one_line = not stripped.endswith(("(", "{", "\\"))
        if line == stripped and stripped.startswith(_IMPORTS[language]) and one_line:
            imports.append(stripped)
            continue
        return stripped[:120], []
    return "", imports


def _with_imports(language: str, content: str, imports: list[str]) -> str:
    """``content`` with ``imports`` after its last top-level one-line import (first if none)."""
    if not imports:
        return content
    lines = content.split("\n")
    last = -1
    for i, line in enumerate(lines):
        if line.startswith(_IMPORTS[language]) and not line.rstrip().endswith(("(", "{", "\\")):
            last = i
    lines[last + 1 : last + 1] = imports
    return "\n".join(lines)


def _names(names: list[str]) -> str:
    return ", ".join(names[:MAX_NAMED]) + (", ..." if len(names) > MAX_NAMED else "")


def _refusal(path: str, gone: list[str], reason: str) -> str:
    return (
        f"file_write would replace the whole of {path} and lose {_names(gone)}, which it "
        f"defines now; {reason}, so they cannot be kept. Change one function or class with "
        "replace_symbol, or the lines you mean with edit_file (to delete a definition, replace "
        "its lines with nothing). Nothing was changed."
    )
