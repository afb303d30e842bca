"""The goal's stated bad inputs as a test (pure): ``raise ValueError for anything that is not a
duration (such as "10", "1x" or "h1")`` becomes one ``pytest.raises`` / ``assert.throws`` per
input, beside the goal's examples (``goal_examples``).

A goal that lists the inputs to refuse states a behaviour as plainly as ``f(1) is 2`` does, and
a small model's own test checks one of them at most: its code then reached the deploy approval
accepting the others. Written out, every candidate is held to the whole list, and a failing one
names its input (the line the tester's analysis points at, quoted in the retry).

Only what reads unambiguously becomes an assertion: a sentence saying that something raises or
throws a named error class for some inputs (``for`` / ``when`` / ``given``: not "whose message
names ..., e.g." a message), then ``such as`` / ``e.g.`` / ``for example`` and a list of string
literals, and no "instead" just after (the bug today, not the goal); the function is the one
function the change writes that the goal calls and that takes exactly one required argument.
The error class must be a built-in one or a name the test file can reach. Nothing is guessed.
"""

from __future__ import annotations

import ast
import builtins
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from bdg_tools.edits import syntax_problem

MAX_BAD_INPUTS = 8
_ERROR = re.compile(r"\b([A-Z][A-Za-z0-9]*(?:Error|Exception))\b")
_VERB = re.compile(r"\b(?:raises?|raising|throws?|throwing)\b", re.IGNORECASE)
_LIST_OPENER = re.compile(r"\b(?:such as|e\.g\.|for example)[,:]?\s*", re.IGNORECASE)
_QUOTED = re.compile(r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'""")
_SEPARATOR = re.compile(r"\s*,\s*(?:(?:or|and)\s+)?|\s+(?:or|and)\s+")
# A sentence ends at . ; ! ? before a capital or the end: "8.5" and "e.g. "10"" do not end one.
_SENTENCE_END = re.compile(r"[.;!?](?=\s+[A-Z(]|\s*$)|;")
# "f() throws a TypeError for inputs such as ""; make it return 0 instead": today's bug
_INSTEAD = re.compile(r"\binstead\b", re.IGNORECASE)
_INSTEAD_WITHIN = 80
_INPUT_WORDS = frozenset({"for", "when", "on", "given", "if"})
_INPUT_OR_MESSAGE = re.compile(
    r"\b(for|when|on|given|if|messages?|names?|naming|says?|saying|reads?|contains?)\b",
    re.IGNORECASE,
)
_CALLED = re.compile(r"\b([A-Za-z_$][\w$]*)\(")
_JS_ERRORS = frozenset(
    {"Error", "TypeError", "RangeError", "SyntaxError", "ReferenceError", "URIError", "EvalError"}
)
_JS_HEAD = re.compile(
    r"^\s*(?:export\s+)?(?:default\s+)?(?:async\s+)?"
    r"(?:function\s*\*?\s*[\w$]*\s*\(([^)]*)\)"  # function name(a, b)
    r"|(?:const|let|var)\s+[\w$]+\s*=\s*(?:async\s+)?(?:function\s*\*?\s*[\w$]*\s*)?"
    r"(?:\(([^)]*)\)|([\w$]+)\s*=>))"  # const name = (a) => / function (a) / a =>
)


@dataclass(frozen=True)
class BadInput:
    call: str  # e.g. 'parse_duration("10")'
    error: str  # the class the goal says is raised, e.g. "ValueError"


def takes_one_argument(path: str, definition: str) -> bool:
    """Whether the function ``definition`` (its whole text) has exactly one required
    parameter: a single bad input is then a whole call."""
    if path.endswith(".py"):
        try:
            tree = ast.parse(textwrap.dedent(definition))
        except SyntaxError:
            return False
        node = tree.body[0] if tree.body else None
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return False
        positional = [*node.args.posonlyargs, *node.args.args]
        keyword_only = [d for d in node.args.kw_defaults if d is None]
        return len(positional) - len(node.args.defaults) == 1 and not keyword_only
    head = _JS_HEAD.match(definition)
    if head is None:
        return False
    params = head.group(1) if head.group(1) is not None else head.group(2)
    if params is None:
        return True  # a => ...
    parts = [p.strip() for p in params.split(",") if p.strip()]
    return len([p for p in parts if "=" not in p and not p.startswith("...")]) == 1


def _sentences(goal: str) -> list[str]:
    found, start = [], 0
    for end in _SENTENCE_END.finditer(goal):
        found.append(goal[start : end.start()])
        start = end.end()
    return [*found, goal[start:]]


def _literals(text: str, start: int) -> list[str]:
    """The string literals listed from ``start``: "a", "b" or "c" (none: [])."""
    found: list[str] = []
    at = start
    while (literal := _QUOTED.match(text, at)) is not None:
        found.append(literal.group())
        separator = _SEPARATOR.match(text, literal.end())
        if separator is None:
            break
        at = separator.end()
    return found


def _in_sentence(sentence: str) -> list[tuple[str, str]]:
    """(literal, error) for each bad input the sentence lists after naming its error."""
    found: list[tuple[str, str]] = []
    for opener in _LIST_OPENER.finditer(sentence):
        before = sentence[: opener.start()]
        errors = list(_ERROR.finditer(before))
        if not errors or not _VERB.search(before):
            continue
        # "for anything else (such as ...)" lists inputs; "whose message names ..., e.g." one
        # of the messages: the last such word before the list says which
        said = _INPUT_OR_MESSAGE.findall(before, errors[-1].end())
        if said and said[-1].lower() in _INPUT_WORDS:
            error = errors[-1].group(1)
            found += [(literal, error) for literal in _literals(sentence, opener.end())]
    return found


def bad_inputs(goal: str, one_argument: Sequence[str]) -> list[BadInput]:
    """The bad inputs ``goal`` lists for the one function of ``one_argument`` it calls."""
    called = {m.group(1) for m in _CALLED.finditer(goal)} & set(one_argument)
    if len(called) != 1:
        return []  # which function? not guessed
    name = called.pop()
    found: list[BadInput] = []
    at = 0
    for sentence in _sentences(goal):
        at = goal.index(sentence, at)
        after = goal[at + len(sentence) : at + len(sentence) + _INSTEAD_WITHIN]
        if not _INSTEAD.search(after):
            found += [BadInput(f"{name}({lit})", err) for lit, err in _in_sentence(sentence)]
        at += len(sentence)
    return list(dict.fromkeys(found))[:MAX_BAD_INPUTS]


def _python_error(name: str) -> bool:
    found = getattr(builtins, name, None)
    return isinstance(found, type) and issubclass(found, BaseException)


def python_test(items: Sequence[BadInput], reachable: Sequence[str] = ()) -> str:
    """One pytest function, a ``pytest.raises`` block per input whose error class is built in
    or ``reachable`` ("" when none is left)."""
    blocks = [
        f"    with pytest.raises({b.error}):\n        {b.call}\n"
        for b in items
        if (_python_error(b.error) or b.error in reachable)
        and not syntax_problem("x.py", f"{b.call}\n")
    ]
    if not blocks:
        return ""
    return "def test_the_goal_s_bad_inputs():\n" + "".join(blocks)


def javascript_test(items: Sequence[BadInput], reachable: Sequence[str] = ()) -> str:
    """One node:test / Jest test, an ``assert.throws`` per input (the same filter)."""
    lines = [
        f"  assert.throws(() => {b.call}, {b.error});"
        for b in items
        if (b.error in _JS_ERRORS or b.error in reachable)
        and not syntax_problem("x.js", f"assert.throws(() => {b.call}, {b.error});\n")
    ]
    if not lines:
        return ""
    return 'test("the goal\'s bad inputs", () => {\n' + "\n".join(lines) + "\n});\n"
