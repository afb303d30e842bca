"""A goal cut into the requirements its new tests check one by one (pure): its sentences, and a
sentence's parts after a colon or a semicolon when both sides read as clauses.

Asked for one test of the goal, the 1.5B tested the goal's first clause and not a later one,
and the job ended done on a change its own test passed: a PORT read as an int but refused when
empty ("8000 when PORT is unset or empty"), an order total right at 10% off but throwing on an
empty order ("an empty order throws instead of totalling 0"). A requirement named on its own
line gets its own test.

Nothing is dropped: a goal with more parts than ``MAX_CLAUSES`` has its tail joined into the
last one. Quoted text and brackets are never cut (``{a: 1}``, ``"e.g. 10"``).
"""

from __future__ import annotations

from collections.abc import Callable

MAX_CLAUSES = 6
MIN_WORDS = 3  # a shorter part is a label ("Example:") or a fragment, not a requirement
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "cf.")
_OPEN = {"(": ")", "[": "]", "{": "}"}


def goal_clauses(goal: str) -> tuple[str, ...]:
    """The goal's requirements in order (one, the whole goal, when it has no parts)."""
    parts: list[str] = []
    for sentence in _cut(goal.strip(), _sentence_end):
        for part in _cut(sentence, _part_end):
            if parts and (len(part.split()) < MIN_WORDS or len(parts[-1].split()) < MIN_WORDS):
                parts[-1] = f"{parts[-1]} {part}"
            else:
                parts.append(part)
    if len(parts) > MAX_CLAUSES:
        parts[MAX_CLAUSES - 1 :] = [" ".join(parts[MAX_CLAUSES - 1 :])]
    clauses = tuple(c for c in (p.rstrip(":;").strip() for p in parts) if c)
    return clauses or (goal.strip(),)


def _sentence_end(text: str, i: int) -> bool:
    """A full stop (or ! ?) followed by a space and a capital, a quote or a bracket, that does
    not close an abbreviation."""
    if text[i] not in ".!?" or i + 1 >= len(text) or not text[i + 1].isspace():
        return False
    following = text[i + 1 :].lstrip()
    if not following or not (following[0].isupper() or following[0] in "\"'`([{"):
        return False
    return not text[: i + 1].lower().endswith(_ABBREVIATIONS)


def _part_end(text: str, i: int) -> bool:
    return text[i] in ":;" and i + 1 < len(text) and text[i + 1].isspace()


def _cut(text: str, ends_at: Callable[[str, int], bool]) -> list[str]:
    """``text`` cut just after each mark ``ends_at`` points at, outside quotes and brackets
    (an apostrophe inside a word opens no quote)."""
    pieces: list[str] = []
    start, closers, quote = 0, [], ""
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in '"`' or (char == "'" and (i == 0 or not text[i - 1].isalnum())):
            quote = char
        elif char in _OPEN:
            closers.append(_OPEN[char])
        elif closers and char == closers[-1]:
            closers.pop()
        elif not closers and ends_at(text, i):
            pieces.append(text[start : i + 1].strip())
            start = i + 1
    pieces.append(text[start:].strip())
    return [p for p in pieces if p]
