"""The goal's own examples as a test (pure): ``pluralize(2, "child", "children") is "2 children"``
or, when the goal calls exactly one function, ``"90s" -> 90`` and ``"#f80" is the same as
"#ff8800"`` (two inputs whose results must be equal).

A small model's test checks what its code does, not what the goal says, and a reviewer of the
same size approves the pair ("score 10/10"): on the agent bench a pluralize() that dropped the
count reached the deploy approval that way. Examples the goal states are the one check that
comes from the person who asked; written as assertions beside the model's test, every
candidate's code is held to them (the tester runs them, the cross-check ranks by them).

Only what reads unambiguously becomes an assertion: a call of a function the goal names, with
literal arguments, ``is`` / ``==`` / ``->`` / ``→`` / ``returns``, and a literal result (strings,
numbers, booleans, null, arrays, JavaScript objects); or two string literals the goal says are
``the same as`` / ``equivalent to`` each other, for its one function (a parser's short form: its
own test, on the agent bench, only checked the long one). Every assertion must parse in the
test's language, else it is dropped. Nothing is guessed: a goal without such examples adds
nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bdg_coder.pipeline.testing.goal_errors import bad_inputs
from bdg_coder.pipeline.testing.goal_errors import javascript_test as errors_js
from bdg_coder.pipeline.testing.goal_errors import python_test as errors_python
from bdg_tools.edits import syntax_problem

_NAME = r"[A-Za-z_$][\w$]*"
_ARROW = r"\s*(?:==|->|→|\bis\b|\breturns\b|\bgives\b)\s*"
# Two inputs the goal says mean the same: their results must be equal. Not "equals", which
# goals also write before a result ("90s" equals 90).
_SAME = re.compile(r"\s*(?:is|means) (?:the same as|equivalent to)\s*")
_STRING = r'"(?:[^"\\\n]|\\.)*"'
MAX_EXAMPLES = 8
_JS_OBJECT = re.compile(r"[{,]\s*[A-Za-z_$][\w$]*\s*:")  # {a: 1}: a JavaScript object


@dataclass(frozen=True)
class Example:
    call: str  # e.g. 'pluralize(2, "child", "children")' or 'word_counts("a")["a"]'
    expected: str  # a literal, as the goal wrote it; or the call of an input said the same


def _balanced(text: str, start: int) -> int:
    """The index just past the bracket group opening at ``start`` (-1: unbalanced)."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    stack: list[str] = []
    i = start
    while i < len(text):
        ch = text[i]
        if ch == '"':
            match = re.compile(_STRING).match(text, i)
            if match is None:
                return -1
            i = match.end()
            continue
        if ch in pairs:
            stack.append(pairs[ch])
        elif ch in ")]}":
            if not stack or stack.pop() != ch:
                return -1
            if not stack:
                return i + 1
        i += 1
    return -1


def _literal(text: str, start: int) -> int:
    """The index just past a literal starting at ``start`` (-1: none there)."""
    if start >= len(text):
        return -1
    if text[start] in "[{":
        return _balanced(text, start)
    for pattern in (_STRING, r"-?\d+(?:\.\d+)?\b", r"(?:true|false|null|None|True|False)\b"):
        match = re.compile(pattern).match(text, start)
        if match is not None:
            return match.end()
    return -1


def examples(goal: str, names: Sequence[str]) -> list[Example]:
    """The examples of ``goal`` about the functions ``names`` (those the change writes)."""
    found: list[Example] = []
    for match in re.finditer(rf"\b({_NAME})\(", goal):
        if match.group(1) not in names:
            continue
        end = _balanced(goal, match.end() - 1)
        while end != -1 and end < len(goal) and goal[end] == "[":  # an index of the result
            end = _balanced(goal, end)
        if end == -1 or match.end() == end - 1:  # unbalanced, or no argument: a mention
            continue
        if (found_example := _after(goal, match.start(), end)) is not None:
            found.append(found_example)
    if len(names) == 1 and len(re.findall(rf"\b{_NAME}\(", goal)) == 1:
        for match in re.finditer(_STRING, goal):
            example = _after(goal, match.start(), match.end(), wrap=names[0])
            if example is not None and "->" in goal[match.end() : match.end() + 4]:
                found.append(example)
            elif (same := _SAME.match(goal, match.end())) is not None:
                other = re.compile(_STRING).match(goal, same.end())
                if other is not None:
                    call = f"{names[0]}({match.group()})"
                    found.append(Example(call, f"{names[0]}({other.group()})"))
    return list(dict.fromkeys(found))[:MAX_EXAMPLES]


def _after(goal: str, start: int, end: int, wrap: str = "") -> Example | None:
    arrow = re.compile(_ARROW).match(goal, end)
    if arrow is None:
        return None
    stop = _literal(goal, arrow.end())
    if stop == -1:
        return None
    call = goal[start:end] if not wrap else f"{wrap}({goal[start:end]})"
    return Example(call, goal[arrow.end() : stop])


def python_test(items: Sequence[Example]) -> str:
    """One pytest function asserting each example ("" when none parses as Python)."""
    lines = [
        f"    assert {e.call} == {_python_literal(e.expected)}"
        for e in items
        if not _JS_OBJECT.search(f"{e.call} {e.expected}")  # parses, but means something else
        and not syntax_problem("x.py", f"{e.call} == {_python_literal(e.expected)}\n")
    ]
    if not lines:
        return ""
    return "def test_the_goal_s_examples():\n" + "\n".join(lines) + "\n"


def javascript_test(items: Sequence[Example]) -> str:
    """One node:test / Jest test asserting each example with ``assert.deepStrictEqual``."""
    # An object is compared as a plain one: a right answer may be made by Object.create(null).
    calls = [(f"{{ ...{e.call} }}" if e.expected.startswith("{") else e.call, e) for e in items]
    lines = [
        f"  assert.deepStrictEqual({call}, {_js_literal(e.expected)});"
        for call, e in calls
        if not syntax_problem("x.js", f"({call}, {_js_literal(e.expected)});\n")
    ]
    if not lines:
        return ""
    return 'test("the goal\'s examples", () => {\n' + "\n".join(lines) + "\n});\n"


def _python_literal(text: str) -> str:
    return {"true": "True", "false": "False", "null": "None"}.get(text, text)


def _js_literal(text: str) -> str:
    return {"True": "true", "False": "false", "None": "null"}.get(text, text)


def goal_test(
    path: str, content: str, goal: str, names: Sequence[str], one_argument: Sequence[str] = ()
) -> str:
    """The test of the goal's examples, then of its bad inputs (``goal_errors``: the
    ``one_argument`` functions), for the test file ``path`` ("" when there is none, or the file
    lacks what it needs: ``assert`` and ``test`` bound in JavaScript)."""
    found = examples(goal, names)
    bad = bad_inputs(goal, [n for n in one_argument if n in names])
    if path.endswith(".py"):
        tests = [python_test(found) if found else "", errors_python(bad, names) if bad else ""]
        return "\n\n".join(t for t in tests if t)
    bound = re.search(r"^import\s+assert\b", content, re.M) and re.search(
        r"^import\s+(?:test\b|\{[^}]*\btest\b)", content, re.M
    )
    if not bound:
        return ""
    tests = [javascript_test(found) if found else "", errors_js(bad, names) if bad else ""]
    return "\n".join(t for t in tests if t)
