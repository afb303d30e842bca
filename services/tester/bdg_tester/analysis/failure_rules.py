"""Rules for what a failing test says: a timeout, a call with the wrong arguments, an
assertion (with its expected and actual values), another exception."""

from __future__ import annotations

import re

from bdg_tester.analysis.causes import Cause, Diagnosis, search

_TIMEOUT = (
    r"Test timed out in \d+ ?ms|Exceeded timeout of \d+ ?ms|Timeout of \d+ms exceeded"
    r"|Failed: Timeout >|panic: test timed out after \S+|TimeoutError|timed out after"
)


def timeout(text: str, _: str) -> Diagnosis | None:
    if search(_TIMEOUT, text):
        hint = (
            "The test waited for something that never finished: an un-awaited or never "
            "resolved promise, a callback (`done`) never called, a real network call, or a "
            "loop. Fix the wait; raise the timeout only for work that is slow by nature."
        )
        return Diagnosis(Cause.timeout, "", hint)
    return None


def signature(text: str, _: str) -> Diagnosis | None:
    if m := search(
        r"TypeError: ([\w.]+)\(\) missing \d+ required (?:positional |keyword-only )?"
        r"arguments?: (.+)$",
        text,
    ):
        func, args = m.groups()
        hint = (
            f"`{func}()` is called without {args}: pass it at the call site, or give the "
            "parameter a default if callers may leave it out (check which side changed)."
        )
        return Diagnosis(Cause.signature, func, hint)
    if m := search(r"TypeError: ([\w.]+)\(\) takes (.+?) but (\d+ (?:was|were) given)", text):
        func = m.group(1)
        hint = f"`{func}()` takes {m.group(2)} but {m.group(3)}: align the call and the definition."
        return Diagnosis(Cause.signature, func, hint)
    if m := search(r"TypeError: ([\w.]+)\(\) got an unexpected keyword argument '(\w+)'", text):
        func, arg = m.groups()
        hint = f"`{func}()` has no parameter `{arg}`: rename the argument or add the parameter."
        return Diagnosis(Cause.signature, func, hint)
    if m := search(r"TypeError: (\S+) is not a function", text):
        hint = (
            f"`{m.group(1)}` is not a function: a wrong import (default vs named export), "
            "a typo, or a value that is not what the code expects."
        )
        return Diagnosis(Cause.signature, m.group(1), hint)
    return None


def _diff(text: str) -> str:
    """The +/- lines of a jest/vitest/node diff (bounded)."""
    lines = [line.rstrip() for line in text.splitlines() if re.match(r"^\s*[-+] ", line)]
    lines = [line for line in lines if not re.match(r"^\s*[-+] (Expected|Received|actual)", line)]
    return "\n".join(lines[:12])


# Where each runner puts the two values (groups `expected` and `actual`); pytest, Rust and Go
# tests conventionally put the actual value first (`assert f(x) == 2`, `assert_eq!(f(x), 2)`).
_EXPECTATIONS = [
    # node's assert on two short primitives: "Expected values to be strictly equal:\n\n-3 !== 0"
    r"Expected values to be strictly (?:deep-)?equal:\n\s*\n?\s*(?P<actual>.+?) !== "
    r"(?P<expected>.+)$",
    r"Expected(?: [\w ]+)?: (?P<expected>.+)\n\s*Received(?: [\w ]+)?: (?P<actual>.+)",
    r"expected:? <(?P<expected>.*)> but was:? <(?P<actual>.*)>",
    r"^(?:E\s+)?assert (?P<actual>.+?) (?:==|!=|<=|>=|<|>| in| not in| is| is not) "
    r"(?P<expected>.+)$",
    r"^\s*left: (?P<actual>.+)\n\s*right: (?P<expected>.+)",
    r"expected (?P<actual>.+?) to (?:be|equal|deeply equal|strictly equal|have length|include"
    r"|contain|match|be greater than|be less than) (?P<expected>.+?)(?: // .*)?$",
    r"\bgot:? (?P<actual>.+?),? want:? (?P<expected>.+)$",
    r"= (?P<actual>.+?); want (?P<expected>.+)$",
]


_DECIDE = (
    "Decide which is right: fix the code under test if the expectation states the goal, "
    "otherwise update the test's expectation."
)


def assertion(text: str, error_type: str) -> Diagnosis | None:
    asserting = (
        "Assert" in error_type
        or search(r"^(?:E\s+)?assert |expect\(|AssertionError|assertion|\bwant\b", text)
        or search(r"^\s*expected .+ to ", text)
    )
    if not asserting:
        return None
    for pattern in _EXPECTATIONS:
        if m := search(pattern, text):
            expected, actual = m.group("expected").strip(), m.group("actual").strip()
            return Diagnosis(Cause.assertion, "", _DECIDE, expected, actual, _diff(text))
    if "+ actual - expected" in text:  # node's assert: + lines are actual, - lines expected
        block = text.split("+ actual - expected", 1)[1]
        # Up to the stack, or to "] {" where node:test's inspected error closes its message
        # (its properties follow): without it the expected value read "'2 children'] {".
        block = re.split(r"\] \{\n|\n\s+at ", block, maxsplit=1)[0]
        lines = block.splitlines()
        actual = "\n".join(line[2:] for line in lines if line.startswith("+ "))
        expected = "\n".join(line[2:] for line in lines if line.startswith("- "))
        return Diagnosis(Cause.assertion, "", _DECIDE, expected, actual, _diff(text))
    return Diagnosis(Cause.assertion, "", _DECIDE, diff=_diff(text))


_EXCEPTION = re.compile(
    r"(?:^|\s|E\s+)((?:[\w$]+\.)*[A-Z]\w*(?:Error|Exception|Exit|Interrupt))(?::|\s*$)|panic: ",
    re.M,
)
_HINTS: list[tuple[str, str]] = [
    (
        r"Cannot read propert(?:y|ies) of (?:undefined|null)|'NoneType' object has no attribute"
        r"|undefined is not an object|null pointer dereference|NullPointerException",
        "A value is undefined/None where an object is expected: check what the function receives "
        "or returns (a missing field, an un-awaited promise, a lookup that found nothing).",
    ),
    (r"is not defined|NameError", "A name is used but never defined or imported in that file."),
    (r"ZeroDivisionError|divide by zero|/ by zero", "A division by zero: guard the divisor."),
    (
        r"KeyError|IndexError|index out of range|ArrayIndexOutOfBounds",
        "A lookup with a key or index that is not there: check the data, or guard the lookup.",
    ),
    (r"failed on setup|fixture", "The error is raised in a fixture (test setup), not in the test."),
    (r"unwrap\(\)` on an `(?:Err|None)`", "`unwrap()` met an Err/None: handle that case."),
]


def exception(text: str, error_type: str) -> Diagnosis | None:
    m = _EXCEPTION.search(text)
    kind = error_type if error_type and error_type not in ("Error", "build") else ""
    kind = kind or (m.group(1) or "panic" if m else "") or error_type
    if not kind:
        return None
    hint = next((h for p, h in _HINTS if search(p, text)), "")
    return Diagnosis(Cause.exception, kind.rsplit(".", 1)[-1], hint or f"`{kind}` was raised.")
