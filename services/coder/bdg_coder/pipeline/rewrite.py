"""The pipeline's whole-symbol format (pure): which definitions the goal is about, the answer a
small model can produce (one complete definition, its name fixed by us), and its check.

A 0.5B model asked for a list of {path, symbol, search, replace} edits fills the fields with the
wrong kind of thing (a parameter as the symbol, the goal's own words as the search). Here we
choose the symbol: the definitions of the shown files ranked by how the goal and plan name them
(``name(`` first, then the bare name, the file named, words shared with its body, the index's
hits), and ask for one thing, the complete new definition of that one symbol, as
``{"code": ...}``. A name the goal calls as a function (``pluralize()``) that no file defines is
a new definition, added at the end of the file the goal names. The answer lands only when it
parses, defines exactly that name and is not the old definition unchanged; a retry names what
failed. A second answer, one new test for the project's test file, is kept only if it parses.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bdg_coder.domain import paths_named
from bdg_coder.pipeline.testing.test_answer import new_part
from bdg_contracts.source_kinds import is_test_path
from bdg_tools.edits import syntax_problem
from bdg_tools.symbols.lookup import SymbolError, find_symbols, language_of
from bdg_tools.symbols.replace import replace_symbol
from bdg_tools.symbols.spans import NotParsedError, Symbol

MAX_CODE = 4_000  # characters of one definition or test
MAX_TARGETS = 3  # definitions rewritten for one goal, one answer each
# At temperature 0 a small model repeats its answer whatever the retry says: the retry samples.
RETRY_TEMPERATURE = 0.7

SHOWN_LINES = 60  # of the file around the definition, beyond which it is trimmed
_WORD = re.compile(r"[A-Za-z_$][\w$]*")
# `capitalize()`, `clamp(value, ...`; not prose (`word (`) nor plurals (`column(s)`)
_CALLED = re.compile(r"([A-Za-z_$][\w$]*)\((?!s\))")
_FENCED = re.compile(r"```[\w+-]*[ \t]*\n(.*?)(?:^```|\Z)", re.S | re.M)
_BUILTINS = frozenset(
    {"print", "len", "int", "str", "float", "sorted", "map", "parseInt", "Number", "String"}
)  # called in goals, never ours to define
_STOP = frozenset(
    {"a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is", "it", "its",
     "of", "on", "or", "that", "the", "this", "to", "when", "with", "must", "should", "not",
     "no", "new", "add", "make", "fix", "return", "returns", "value", "default", "true",
     "false", "none"}
)  # fmt: skip


def answer_temperature(attempt: int, turn: int, temperature: float) -> float:
    """A definition's turn: the retry samples, and so does a later attempt's first answer (at
    temperature 0 the model resends the definition it is shown, which the last attempt wrote:
    "changed nothing" on the agent bench)."""
    return RETRY_TEMPERATURE if turn or attempt > 1 else temperature


class Rewrite(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(
        min_length=1, max_length=MAX_CODE, description="the complete new definition, whole"
    )


class NewTest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(min_length=1, max_length=MAX_CODE, description="one new test, whole")


@dataclass(frozen=True)
class Target:
    """One definition to write: an existing one (``line`` > 0) or a new one (``line`` 0)."""

    path: str
    symbol: str  # qualified: "add", "Cart.total"
    line: int
    score: float

    @property
    def new(self) -> bool:
        return self.line == 0


def _words(text: str) -> set[str]:
    out: set[str] = set()
    for word in _WORD.findall(text):
        low = word.lower()
        out.add(low)
        out.update(part for part in low.split("_") if part)
        out.update(p.lower() for p in re.findall(r"[a-z]+|[A-Z][a-z]*", word))
    return {w for w in out if len(w) > 2 and w not in _STOP}


def symbols_of(path: str, content: str) -> list[Symbol]:
    """The functions and classes of a source file ([] for one that does not parse or is not
    code we read)."""
    if not language_of(path):
        return []
    try:
        return find_symbols(path, content.encode("utf-8", "surrogatepass"))
    except NotParsedError:
        return []


def targets(
    goal: str, plan: str, files: Mapping[str, str], hit_paths: Sequence[str] = ()
) -> list[Target]:
    """The definitions the goal is about, best first: every one the goal or plan calls by name
    (``name(``), in order of mention, at most ``MAX_TARGETS``; with none so called, the best
    ranked one alone. A called name no file defines is a new definition for the first source
    file the goal names (or the first shown), or for the one new module the goal names
    (``new_module``). None when the goal names another file not shown (one to create, which
    the list of edits makes), or a new module nothing goes in."""
    text = f"{goal}\n{plan}"
    # Files to create are the goal's: a small model's plan abbreviates paths ("the
    # `test_sortlines.py` file" for tests/test_sortlines.py), which sent the job to the list
    # of edits on py-sortlines-reverse.
    missing = [path for path in paths_named(goal, "") if not _is_shown(path, files)]
    module = new_module(goal, missing)
    if missing and not module:
        return []  # a file to create that is no new module: the list of edits makes it
    called = list(dict.fromkeys(m.group(1) for m in _CALLED.finditer(text)))
    mentioned = set(_WORD.findall(text))
    words = _words(text)
    sources = [p for p in files if language_of(p) and not is_test_path(p)]
    ranked: list[Target] = []
    for path in sources:
        content = files[path]
        named = path in text or PurePosixPath(path).name in text
        hit = len(hit_paths) - hit_paths.index(path) if path in hit_paths else 0
        for symbol in symbols_of(path, content):
            body = content.encode("utf-8", "surrogatepass")[symbol.start : symbol.end].decode()
            score = 0.0
            if symbol.name in called:
                score += 100 - called.index(symbol.name)
            elif symbol.name in mentioned:
                score += 20
            score += 5 * named + hit + min(len(words & _words(body)), 10) / 2
            ranked.append(Target(path, symbol.qualname, symbol.line, score))
    ranked.sort(key=lambda t: (-t.score, sources.index(t.path), t.line))
    defined = {t.symbol.rsplit(".", 1)[-1] for t in ranked}
    chosen = [t for t in ranked if t.symbol.rsplit(".", 1)[-1] in called]
    home = module or next((p for p in sources if p in text), sources[0] if sources else "")
    # A new definition is one the goal calls: the plan, a small model's, quoted a method call
    # (`replace(/[^a-z0-9-]/g, '')`) and the 1.5B wrote a function replace() to go with it.
    asked = set(_CALLED.findall(goal))
    for order, name in enumerate(called):
        if name not in defined and name in asked and home and not _is_builtin(name):
            chosen.append(Target(home, name, 0, 100.0 - order))
    chosen.sort(key=lambda t: -t.score)
    if module and all(t.path != module for t in chosen):
        return []  # nothing of ours goes in the new module: the list of edits makes it
    if chosen:
        chosen = _unique(chosen)
        return [*chosen, *_in_named_files(goal, chosen, ranked, files)][:MAX_TARGETS]
    return ranked[:1]


def _is_shown(path: str, files: Mapping[str, str]) -> bool:
    """``path`` is a shown file, or the tail of one's path."""
    return path in files or any(shown.endswith(f"/{path}") for shown in files)


def new_module(goal: str, missing: Sequence[str]) -> str:
    """The one file to create that the whole-symbol format can write: a source file (not a
    test) the goal itself names, the only file named that is not there ("" otherwise). A goal
    moving code into a new module (py-refactor-slugify) went to the list of edits, where the
    1.5B's edits wrote only an import line into it."""
    if len(missing) != 1:
        return ""
    path = missing[0]
    named = path in goal and language_of(path) and not is_test_path(path)
    return path if named else ""


def _in_named_files(
    goal: str, chosen: Sequence[Target], ranked: Sequence[Target], files: Mapping[str, str]
) -> list[Target]:
    """One definition for each source file the goal names that holds none chosen: the person
    wants a change there too (js-order-total-discount: "src/discount.js reads it as a
    fraction"; the 1.5B, asked for ``orderTotal`` alone, fixed half the bug in it both
    attempts). The one the chosen definitions call, else the file's best ranked."""
    have = {t.path for t in chosen}
    bodies = "\n".join(definition(t.path, files[t.path], t.symbol) for t in chosen if not t.new)
    called = set(_CALLED.findall(bodies))
    extra: list[Target] = []
    for path in dict.fromkeys(t.path for t in ranked):
        name = PurePosixPath(path).name
        named = path in goal or re.search(rf"(?<![\w/.-]){re.escape(name)}\b", goal)
        if path in have or not named:
            continue
        in_file = [t for t in ranked if t.path == path]
        callee = [t for t in in_file if t.symbol.rsplit(".", 1)[-1] in called]
        extra.append((callee or in_file)[0])
    return extra


def _is_builtin(name: str) -> bool:
    return name in _BUILTINS


def _unique(chosen: list[Target]) -> list[Target]:
    seen: set[tuple[str, str]] = set()
    out = []
    for t in chosen:
        if (t.path, t.symbol) not in seen:
            seen.add((t.path, t.symbol))
            out.append(t)
    return out


def definition(path: str, content: str, symbol: str) -> str:
    """The text of ``symbol``'s definition in ``content`` ("" when it has none)."""
    for s in symbols_of(path, content):
        if s.qualname == symbol:
            return content.encode("utf-8", "surrogatepass")[s.start : s.end].decode()
    return ""


def located(target: Target, content: str) -> Target:
    """``target`` where its definition is in ``content`` now (a new one written since is no
    longer new); as it was when ``content`` has none."""
    for s in symbols_of(target.path, content):
        if s.qualname == target.symbol:
            return Target(target.path, target.symbol, s.line, target.score)
    return target


def trimmed(path: str, content: str, target: Target) -> str:
    """The file as the model sees it: whole when short, else the lines around the definition
    (its own whole) with a note of what was left out above and below."""
    lines = content.splitlines()
    if len(lines) <= SHOWN_LINES or target.new:
        return (
            content
            if not target.new or len(lines) <= SHOWN_LINES
            else "\n".join(lines[-SHOWN_LINES:])
        )
    size = definition(path, content, target.symbol).count("\n") + 1
    start = max(target.line - 1 - 10, 0)
    end = min(max(target.line - 1 + size + 10, start + SHOWN_LINES), len(lines))
    head = f"[... {start} lines above]\n" if start else ""
    tail = f"\n[... {len(lines) - end} lines below]" if end < len(lines) else ""
    return head + "\n".join(lines[start:end]) + tail


def parse_code(answer: str, kind: type[Rewrite] | type[NewTest]) -> str | None:
    """The code of a schema-bound answer (None: not one)."""
    try:
        return kind.model_validate_json(answer).code
    except ValidationError:
        return None


def code_in(answer: str) -> str | None:
    """The code of a plain answer: its first fenced block (one left open: to the end), else the
    whole text; None when there is none. Plain, since inside a JSON string a small model ends
    the string at the first double quote of its code (``text.split(" ``)."""
    fenced = _FENCED.search(answer)
    code = fenced.group(1) if fenced else answer
    return code.strip("\n") or None


def check_rewrite(content: str, target: Target, code: str) -> tuple[str, str]:
    """(the file after, "") or ("", what failed: said so the model can fix it). An existing
    definition lands through ``replace_symbol``'s rules; a new one is added at the end; a stub
    lands in place of neither (unless it replaces one)."""
    name = target.symbol.rsplit(".", 1)[-1]
    code = only_definition(target.path, code, target.symbol)
    old = definition(target.path, content, target.symbol) if not target.new else ""
    after, error = _rewritten(content, target, code, old)
    if not error and is_stub(target.path, code) and not is_stub(target.path, old):
        return "", (
            f"the code you sent is a stub of {name} (no body but pass or a comment); send "
            "the whole definition, its body written out"
        )
    return after, error


def _rewritten(content: str, target: Target, code: str, old: str) -> tuple[str, str]:
    if target.new:
        return _appended(target.path, content, target.symbol.rsplit(".", 1)[-1], code)
    if same_code(old, code):
        return "", (
            f"the code you sent is {target.symbol} exactly as it is now; send it changed as the "
            "goal asks."
        )
    try:
        after = replace_symbol(target.path, content, target.symbol, code).content
    except SymbolError as error:
        return "", str(error).removesuffix(" Nothing was changed.").replace(
            "edit_file", "another edit"
        )
    if after == content:
        return "", f"the code you sent leaves {target.symbol} as it is; change it."
    return after, ""


_JS_BODY = re.compile(r"\{(.*)\}", re.S)
_JS_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)


def is_stub(path: str, code: str) -> bool:
    """Whether ``code`` is a definition with no body: Python's ``pass``, ``...`` or a
    docstring alone, JavaScript's braces around comments alone. Asked again for post_url(),
    the 1.5B sent "# Implement the post_url function here" and ``pass``, and it landed."""
    if not code.strip():
        return False
    if language_of(path) == "python":
        try:
            tree = ast.parse(textwrap.dedent(code))
        except SyntaxError:
            return False
        defs = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        return len(defs) == 1 and all(_empty(statement) for statement in defs[0].body)
    if language_of(path) == "js":
        body = _JS_BODY.search(code)
        return body is not None and not _JS_COMMENTS.sub("", body.group(1)).strip()
    return False


def _empty(statement: ast.stmt) -> bool:
    if isinstance(statement, ast.Pass):
        return True
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)


def only_definition(path: str, code: str, symbol: str) -> str:
    """The definition of ``symbol`` out of code that parses and holds more (a small model sends
    the whole file back: a docstring, imports, the other functions, or the whole class around
    a method); the code as sent otherwise. The name is ours, so taking it is no guess."""
    text = textwrap.dedent(code.replace("\r\n", "\n")).strip("\n")
    try:
        found = find_symbols(path, text.encode("utf-8", "surrogatepass"))
    except NotParsedError:
        return code
    name = symbol.rsplit(".", 1)[-1]
    tops = [s for s in found if "." not in s.qualname]
    if len(tops) == 1 and tops[0].name == name and "." not in symbol:
        matches = tops
    else:
        matches = [s for s in found if s.qualname == symbol] or [
            s for s in found if s.name == name and s.qualname.count(".") == symbol.count(".")
        ]
    if len(matches) != 1:
        return code
    whole = text.encode("utf-8", "surrogatepass")
    picked = whole[matches[0].start : matches[0].end].decode("utf-8", "surrogatepass")
    return textwrap.dedent(matches[0].indent + picked)


def same_code(old: str, code: str) -> bool:
    """Whether ``code`` is the definition ``old`` as it stands (trailing spaces aside; or its
    tail, ``old`` less a decorator or a comment above it)."""

    def norm(text: str) -> str:
        return "\n".join(line.rstrip() for line in text.strip().splitlines())

    return norm(old) == norm(code) or norm(old).endswith(norm(code))


def _appended(path: str, content: str, name: str, code: str) -> tuple[str, str]:
    text = code.strip("\n")
    try:
        defined = find_symbols(path, text.encode("utf-8", "surrogatepass"))
    except NotParsedError as error:
        return "", f"the code you sent does not parse ({error}); send the whole definition"
    tops = [s.name for s in defined if "." not in s.qualname]
    if tops != [name]:
        what = ", ".join(tops) or "nothing"
        return "", f"the code must define {name} and nothing else; it defines {what}"
    if any(s.name == name for s in symbols_of(path, content)):
        return "", f"{path} already defines {name}"
    if language_of(path) == "js" and not content.strip() and not text.startswith("export "):
        text = f"export {text}"  # a new module's function is there to be imported
    after = content.rstrip("\n") + "\n\n\n" + text + "\n" if content.strip() else text + "\n"
    if language_of(path) == "js" and content.strip():
        after = content.rstrip("\n") + "\n\n" + text + "\n"
        if "module.exports" in content and "export " not in text:
            return "", "send the definition; this file exports with module.exports"
    if problem := syntax_problem(path, after):
        return "", f"after adding {name}, {path} would not parse ({problem})"
    return after, ""


def check_test(path: str, content: str, code: str) -> tuple[str, str]:
    """(the test file with the new test appended, "") or ("", why it is not kept): it must
    parse, and in Python define new ``test_`` functions and nothing else (a small model asked
    for one test often sends two: both are kept)."""
    text = new_part(path, content, code.strip("\n"))  # the whole file sent back: its new part
    if language_of(path) == "python":
        try:
            defined = find_symbols(path, text.encode("utf-8", "surrogatepass"))
        except NotParsedError as error:
            return "", f"the test does not parse ({error})"
        tops = [s.name for s in defined if "." not in s.qualname]
        if not tops or not all(name.startswith("test") for name in tops):
            return "", f"the code must define test_ functions only; it defines {tops or 'nothing'}"
        if taken := sorted({s.name for s in symbols_of(path, content)} & set(tops)):
            return "", f"{path} already has a test named {taken[0]}"
        after = content.rstrip("\n") + "\n\n\n" + text + "\n"
    else:
        after = content.rstrip("\n") + "\n\n" + text + "\n"
        if text in content:
            return "", "that test is in the file already"
    if problem := syntax_problem(path, after):
        return "", f"with the test added, {path} would not parse ({problem})"
    return after, ""


def file_of_tests(files: Mapping[str, str], target: Target) -> str:
    """The shown test file that names the target's module or symbol ("" when none)."""
    stem = PurePosixPath(target.path).stem
    name = target.symbol.rsplit(".", 1)[-1]
    tests = [p for p in files if is_test_path(p) and language_of(p)]
    for wanted in (name, stem):
        for path in tests:
            if wanted in files[path]:
                return path
    return tests[0] if tests else ""
