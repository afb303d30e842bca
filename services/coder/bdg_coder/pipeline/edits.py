"""The pipeline's repair answer and its edits, checked before any lands (pure).

One schema-bound answer holds a short list of edits over the localized files. Each is a
search/replace block (``search`` copied exactly from the file, occurring once), a whole-symbol
replacement (``symbol`` names a function, method or class; ``replace`` is its whole new
definition), or a new file (``search`` and ``symbol`` empty, a path that does not exist). An
edit lands only when it applies exactly once, the file still parses and no top-level definition
the file had is gone; each one that does not is reported, saying exactly what failed. Edits
apply in order, each to the file as the edits before it left it. Every string and the list are
bounded in the schema, so a small model cannot run away inside the answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bdg_tools.definitions import top_level_names
from bdg_tools.edit_match import find
from bdg_tools.edits import EditError, apply_edit, syntax_problem
from bdg_tools.symbols.lookup import SymbolError
from bdg_tools.symbols.replace import replace_symbol

MAX_EDITS = 4
MAX_PATH = 200
MAX_SYMBOL = 120
MAX_TEXT = 3_000  # characters of a search or replace text: a function, not a module
NO_SUCH_SYMBOL = ("no function or class named", "defines no functions or classes")
NOTHING = " Nothing was changed."
_OUR_TERMS = (
    ("with edit_file", "with a search/replace edit (symbol empty)"),
    ("use edit_file", "use a search/replace edit (symbol empty)"),
    ("as file_read shows them", "as the file shows them"),
)


class Edit(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str = Field(min_length=1, max_length=MAX_PATH, description="a file shown, or a new one")
    symbol: str = Field(
        max_length=MAX_SYMBOL,
        description="the function or class to replace whole (Class.method for a method); "
        "empty for a search/replace or a new file",
    )
    search: str = Field(
        max_length=MAX_TEXT,
        description="with no symbol: the lines to change, copied exactly from the file; "
        "empty for a new file",
    )
    replace: str = Field(
        max_length=MAX_TEXT,
        description="what those lines become, the symbol's whole new definition, or the new "
        "file's content",
    )


class Repair(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    edits: list[Edit] = Field(min_length=1, max_length=MAX_EDITS)


Kind = Literal["edit_file", "replace_symbol", "file_write"]


@dataclass(frozen=True)
class Checked:
    """One edit, and either what it lands as (the tool, its arguments and the file after) or
    why it cannot."""

    number: int  # 1-based, in the answer
    edit: Edit
    tool: Kind | None = None
    arguments: Mapping[str, str] | None = None
    after: str = ""
    error: str = ""
    how: str = ""  # how a search text not copied exactly was found (edit_match's rules)


def parse_repair(answer: str) -> Repair | str:
    """The answer's edits, or what is wrong with it (said so the model can fix it)."""
    try:
        return Repair.model_validate_json(answer)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}"
            for e in error.errors()[:5]
        )
        shown = answer if len(answer) <= 200 else f"{answer[:200]}... ({len(answer)} characters)"
        return f"the answer is not a list of edits as the schema asks ({problems}): {shown!r}"


def check_edits(files: Mapping[str, str], edits: Sequence[Edit]) -> list[Checked]:
    """Each edit checked against the files as the edits before it (those that land) left
    them. ``files``: path -> content of the files that exist (a path not in it is new)."""
    current = dict(files)
    checked: list[Checked] = []
    for number, edit in enumerate(edits, start=1):
        result = check_edit(number, edit, current)
        if result.error == "":
            current[result.edit.path] = result.after
        checked.append(result)
    return checked


def workspace_path(path: str) -> str:
    """A path as the workspace names it: the sandbox's mount point and "./" taken off."""
    path = path.strip()
    for prefix in ("/workspace/", "./"):
        if path.startswith(prefix):
            path = path[len(prefix) :]
    return path


def shown_path(path: str, files: Mapping[str, str]) -> str:
    """The path, or the one file of ``files`` whose path ends with it (small models drop the
    folder: ``counts.py`` for ``textstats/counts.py``)."""
    if path in files:
        return path
    ending = [shown for shown in files if shown.endswith("/" + path)]
    return ending[0] if len(ending) == 1 else path


def check_edit(number: int, edit: Edit, files: Mapping[str, str]) -> Checked:
    """One edit against ``files`` (path -> content of those that exist); its path as the
    workspace names it."""
    edit = edit.model_copy(update={"path": workspace_path(edit.path)})
    if edit.search or edit.symbol:  # an edit of a file that exists
        edit = edit.model_copy(update={"path": shown_path(edit.path, files)})
    path, old = edit.path, files.get(edit.path)
    if old is None:
        if edit.search or edit.symbol:
            return Checked(number, edit, error=_unknown(path, files))
        if problem := syntax_problem(path, edit.replace):
            return Checked(number, edit, error=f"the new file {path} would not parse ({problem})")
        content = _with_newline(edit.replace)
        return Checked(number, edit, "file_write", {"path": path, "content": content}, content)
    try:
        tool, arguments, new, how = _edited(path, old, edit)
    except (EditError, ValueError) as error:
        return Checked(number, edit, error=_in_our_terms(str(error)))
    if new == old:
        return Checked(
            number,
            edit,
            error=f"this edit changes nothing in {path} (what it writes is what is there); "
            "send only edits that make the change. Nothing was changed.",
        )
    kept = set(top_level_names(path, new))
    if gone := [name for name in top_level_names(path, old) if name not in kept]:
        return Checked(
            number,
            edit,
            error=f"after this edit {path} would no longer define {', '.join(gone[:10])}; "
            "keep every definition you do not mean to change. Nothing was changed.",
        )
    return Checked(number, edit, tool, arguments, new, how=how)


def _edited(path: str, old: str, edit: Edit) -> tuple[Kind, dict[str, str], str, str]:
    """The tool, its arguments, the file after and how the search was found; or the error.
    A symbol the file does not define, sent with a search text, falls back to the search
    (small models fill both fields): what failed is said of both."""
    if edit.symbol:
        try:
            new = replace_symbol(path, old, edit.symbol, edit.replace).content
        except SymbolError as error:
            if not edit.search or not any(no in str(error) for no in NO_SUCH_SYMBOL):
                raise
            try:
                return _searched(path, old, edit)
            except EditError as also:
                raise EditError(f"{str(error).removesuffix(NOTHING)} And {also}") from also
        return (
            "replace_symbol",
            {"path": path, "symbol": edit.symbol, "code": edit.replace},
            new,
            "",
        )
    return _searched(path, old, edit)


def _searched(path: str, old: str, edit: Edit) -> tuple[Kind, dict[str, str], str, str]:
    """A search/replace edit, the search as the file has it, so the tool finds it exactly."""
    found = find(path, old, edit.search, edit.replace)
    new = apply_edit(path, old, found.search, found.replace)
    arguments = {"path": path, "search": found.search, "replace": found.replace}
    return "edit_file", arguments, new, found.rule


def _in_our_terms(error: str) -> str:
    """A tool's error as the pipeline's model knows its edits (it has no tools to name)."""
    for tool, ours in _OUR_TERMS:
        error = error.replace(tool, ours)
    return error


def _unknown(path: str, files: Mapping[str, str]) -> str:
    shown = ", ".join(sorted(files)[:10]) or "none"
    return (
        f"{path} is not one of the files shown ({shown}); to create a new file leave search "
        "and symbol empty. Nothing was changed."
    )


def _with_newline(text: str) -> str:
    return text if text.endswith("\n") or not text else text + "\n"


def report(checked: Sequence[Checked]) -> str:
    """What happened to each edit, for the repair turn."""
    lines = []
    for c in checked:
        where = f"edit {c.number} ({c.edit.path}{f' {c.edit.symbol}' if c.edit.symbol else ''})"
        done = f"applied ({c.how})" if c.how else "applied"
        lines.append(f"- {where}: {'FAILED: ' + c.error if c.error else done}")
    return "\n".join(lines)
