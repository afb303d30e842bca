"""Where a model's search text stands in a file when it was not copied exactly (pure).

Small models copy a search text with drift: a markdown fence around it, trailing spaces, the
block shifted left or right (copied out of its class or function), spaces inside a line, a line
mis-remembered or left out. The rules below go from exact to loose; the first that finds the text
decides, and a rule that finds it in more than one place refuses the edit (a looser rule would
find at least as many): an ambiguous match is never applied. A match other than the exact one is
whole lines of the file, the replacement shifted by the indentation offset found. What is found
is the file's own text, so the edit then lands as an exact one and is checked as any other (it
parses, it drops no definition). When nothing is found, the refusal quotes the closest lines.
"""

from __future__ import annotations

import difflib
import heapq
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bdg_tools.edits import MAX_SHOWN, EditError

FUZZY = 0.85  # similarity (difflib's ratio, whitespace ignored) a loose match must reach
FUZZY_MIN_LINES = 3  # non-blank search lines: fewer say too little to be matched loosely
CLOSE = 0.5  # a window less alike than this is not worth quoting back
MAX_STARTS = 8  # places a loose match is looked for (each in three sizes)
_FENCE = re.compile(r"\A[ \t]*```[\w+.-]*[ \t]*\n(.*?)\n?[ \t]*```[ \t]*\n?\Z", re.S)

EXACT = ""
TRAILING = "ignoring trailing whitespace"
INDENTATION = "ignoring a uniform indentation offset"
SPACING = "ignoring whitespace"
LOOSE = "as the one similar block of lines"


@dataclass(frozen=True)
class Found:
    """The file's own text the search stands for (it occurs once) and what it becomes."""

    search: str
    replace: str
    rule: str  # EXACT, or how the text was found


_Rule = Callable[[Sequence[str], Sequence[str]], list["_Window"]]


@dataclass(frozen=True)
class _Window:
    start: int  # index of the first file line
    end: int  # index after the last
    score: float = 1.0


def find(path: str, content: str, search: str, replace: str) -> Found:
    """Where ``search`` stands in ``content`` and what it becomes, or EditError."""
    if not search.strip():
        raise EditError("the search text is empty: copy the lines to change from the file")
    count = content.count(search)
    if count == 1:
        return Found(search, replace, EXACT)
    if count > 1:
        raise EditError(_ambiguous(path, count, ""))
    search, replace = _unfenced(search), _unfenced(replace)
    wanted, blank_head, blank_tail = _trimmed(search.split("\n"))
    if not wanted:
        raise EditError("the search text is empty: copy the lines to change from the file")
    lines = content.splitlines(keepends=True)
    for rule, windows in _RULES:
        found = windows(lines, wanted)
        if len(found) > 1:
            raise EditError(_ambiguous(path, len(found), rule))
        if found:
            (window,) = found
            if rule == LOOSE and (unseen := _left_out(lines, wanted, window, replace)):
                raise EditError(_would_drop(path, lines, wanted, window, unseen))
            text = "".join(lines[window.start : window.end])
            shift = _offset(rule, lines[window.start : window.end], wanted)
            new = _replacement(replace, blank_head, blank_tail, shift, text.endswith("\n"))
            return Found(text, new, rule)
    raise EditError(_not_found(path, lines, wanted, search))


def _left_out(
    lines: Sequence[str], wanted: Sequence[str], window: _Window, replace: str
) -> list[int]:
    """The file lines of a loose match that the search leaves out and the replacement does
    not have either: the edit would delete lines the model never wrote."""
    block = [_bare(line) for line in lines[window.start : window.end]]
    kept = {_bare(line) for line in replace.split("\n")}
    matcher = difflib.SequenceMatcher(None, [_bare(w) for w in wanted], block, autojunk=False)
    return [
        window.start + j
        for tag, _i1, _i2, j1, j2 in matcher.get_opcodes()
        if tag == "insert"
        for j in range(j1, j2)
        if block[j] and block[j] not in kept
    ]


def _would_drop(
    path: str, lines: Sequence[str], wanted: Sequence[str], window: _Window, unseen: list[int]
) -> str:
    left = "; ".join(f"line {j + 1} {lines[j].strip()!r}" for j in unseen[:3])
    return (
        f"the search text does not occur in {path} as it is. {_closest(lines, wanted, window)} "
        f"The replacement leaves out {left} too, so the edit would delete it unseen: copy the "
        "lines exactly, all of them. Nothing was changed."
    )


def _unfenced(text: str) -> str:
    fenced = _FENCE.match(text)
    return fenced.group(1) if fenced else text


def _trimmed(lines: Sequence[str]) -> tuple[list[str], int, int]:
    """The lines without the blank ones around them, and how many blank ones were on each
    side."""
    kept = list(lines)
    head = tail = 0
    while kept and not kept[0].strip():
        kept.pop(0)
        head += 1
    while kept and not kept[-1].strip():
        kept.pop()
        tail += 1
    return kept, head, tail


def _lead(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _bare(line: str) -> str:
    return "".join(line.split())


def _same_lines(key: Callable[[str], str]) -> _Rule:
    def windows(lines: Sequence[str], wanted: Sequence[str]) -> list[_Window]:
        keys = [key(w) for w in wanted]
        n = len(keys)
        return [
            _Window(i, i + n)
            for i in range(len(lines) - n + 1)
            if all(key(lines[i + k]) == keys[k] for k in range(n))
        ]

    return windows


def _shifted(lines: Sequence[str], wanted: Sequence[str]) -> list[_Window]:
    """Windows whose lines are the wanted ones, every non-blank one indented by the same
    offset more, or less, than the search has it."""
    stripped = [w.strip() for w in wanted]
    n = len(wanted)
    return [
        _Window(i, i + n)
        for i in range(len(lines) - n + 1)
        if all(line.strip() == s for line, s in zip(lines[i : i + n], stripped, strict=True))
        and _shift(lines[i : i + n], wanted) is not None
    ]


def _shift(window: Sequence[str], wanted: Sequence[str]) -> tuple[str, str] | None:
    """(added, removed): the one indentation offset from the search's lines to the file's
    (one of the two is empty), or None when the non-blank lines do not share one."""
    pairs = [(_lead(f), _lead(w)) for f, w in zip(window, wanted, strict=False) if w.strip()]
    if not pairs:
        return ("", "")
    file_lead, search_lead = pairs[0]
    if file_lead.endswith(search_lead):
        added = file_lead[: len(file_lead) - len(search_lead)]
        if all(f == added + s for f, s in pairs):
            return (added, "")
    if search_lead.endswith(file_lead):
        removed = search_lead[: len(search_lead) - len(file_lead)]
        if all(s == removed + f for f, s in pairs):
            return ("", removed)
    return None


def _first_offset(window: Sequence[str], wanted: Sequence[str]) -> tuple[str, str]:
    """The offset between the first non-blank lines (for lines found loosely, whose
    indentation need not match line by line)."""
    file_first = next((line for line in window if line.strip()), "")
    search_first = next((line for line in wanted if line.strip()), "")
    file_lead, search_lead = _lead(file_first), _lead(search_first)
    if file_lead.endswith(search_lead):
        return (file_lead[: len(file_lead) - len(search_lead)], "")
    if search_lead.endswith(file_lead):
        return ("", search_lead[: len(search_lead) - len(file_lead)])
    return ("", "")


def _offset(rule: str, window: Sequence[str], wanted: Sequence[str]) -> tuple[str, str]:
    if rule == TRAILING:
        return ("", "")
    if rule == INDENTATION:
        return _shift(window, wanted) or ("", "")
    return _first_offset(window, wanted)


def _similar(lines: Sequence[str], wanted: Sequence[str]) -> list[_Window]:
    """The one block of lines (as many as the search has, one more or one fewer) most like the
    search, whitespace ignored, when it is alike enough; every such block that does not
    overlap it, too (then the match is ambiguous)."""
    if sum(1 for w in wanted if w.strip()) < FUZZY_MIN_LINES:
        return []
    scored = [w for w in _scored(lines, wanted) if w.score >= FUZZY]
    if not scored:
        return []
    best = max(scored, key=lambda w: (w.score, w.end - w.start == len(wanted)))
    apart = [w for w in scored if w.end <= best.start or w.start >= best.end]
    return [best, *_distinct(apart)]


def _distinct(windows: Sequence[_Window]) -> list[_Window]:
    """One window per group of overlapping ones."""
    kept: list[_Window] = []
    for w in sorted(windows, key=lambda w: -w.score):
        if all(w.end <= k.start or w.start >= k.end for k in kept):
            kept.append(w)
    return kept


def _scored(lines: Sequence[str], wanted: Sequence[str]) -> list[_Window]:
    """The blocks of lines that may be the search, with how alike they are (whitespace
    ignored). Only blocks starting where the search's lines point are compared, at most
    ``MAX_STARTS`` starts, so the work stays bounded whatever the file."""
    target_lines = [_bare(w) for w in wanted]
    bare = [_bare(line) for line in lines]
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    matcher.set_seq2("\n".join(target_lines))
    n, out = len(wanted), []
    for start in _starts(bare, target_lines):
        for size in (n, n - 1, n + 1):
            if size < 1 or start < 0 or start + size > len(lines):
                continue
            matcher.set_seq1("\n".join(bare[start : start + size]))
            if matcher.real_quick_ratio() >= CLOSE and matcher.quick_ratio() >= CLOSE:
                out.append(_Window(start, start + size, matcher.ratio()))
    return out


def _starts(bare: Sequence[str], target: Sequence[str]) -> list[int]:
    """Where a block like the search may start: each file line equal to a search line votes
    for the start that puts it in its place (two votes), and so (one) do the lines most like the
    search's first and last lines."""
    at: dict[str, list[int]] = {}
    for j, line in enumerate(bare):
        if line:
            at.setdefault(line, []).append(j)
    votes: Counter[int] = Counter()
    for k, line in enumerate(target):
        for j in at.get(line, ()):
            votes[j - k] += 2
    filled = [k for k, line in enumerate(target) if line]
    for k in {filled[0], filled[-1]} if filled else set():
        for j in _most_like(bare, target[k]):
            votes[j - k] += 1
    return [start for start, _ in votes.most_common(MAX_STARTS)]


def _most_like(bare: Sequence[str], line: str, count: int = 3) -> list[int]:
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(line)
    scored = []
    for j, other in enumerate(bare):
        matcher.set_seq1(other)
        if other and matcher.real_quick_ratio() >= CLOSE and matcher.quick_ratio() >= CLOSE:
            scored.append((matcher.ratio(), j))
    return [j for score, j in heapq.nlargest(count, scored) if score >= CLOSE]


_RULES: tuple[tuple[str, _Rule], ...] = (
    (TRAILING, _same_lines(str.rstrip)),
    (INDENTATION, _shifted),
    (SPACING, _same_lines(_bare)),
    (LOOSE, _similar),
)


def _replacement(
    replace: str, blank_head: int, blank_tail: int, shift: tuple[str, str], newline: bool
) -> str:
    """The replacement for whole lines: the blank lines the search had around it taken off it
    too, shifted as the search was, ending with a line end when the lines it replaces did."""
    lines = replace.split("\n")
    for _ in range(blank_head):
        if len(lines) > 1 and not lines[0].strip():
            lines.pop(0)
    for _ in range(blank_tail):
        if len(lines) > 1 and not lines[-1].strip():
            lines.pop()
    added, removed = shift
    lines = [_reindent(line, added, removed) for line in lines]
    text = "\n".join(lines)
    if newline and text and not text.endswith("\n"):
        text += "\n"
    return text


def _reindent(line: str, added: str, removed: str) -> str:
    if not line.strip():
        return line.strip(" \t")
    if removed:  # as much of it as the line has
        return line[min(len(_lead(line)), len(removed)) :]
    return added + line


def _ambiguous(path: str, count: int, rule: str) -> str:
    how = f" ({rule})" if rule else ""
    return (
        f"the search text occurs {count} times in {path}{how}; include more of the lines "
        "around it so it occurs exactly once. Nothing was changed."
    )


def _not_found(path: str, lines: Sequence[str], wanted: Sequence[str], search: str) -> str:
    shown = search if len(search) <= MAX_SHOWN else search[:MAX_SHOWN] + "..."
    said = f"the search text does not occur in {path}: {shown!r}."
    scored = [w for w in _scored(lines, wanted) if w.score >= CLOSE]
    if scored:
        best = max(scored, key=lambda w: (w.score, w.end - w.start == len(wanted)))
        said += " " + _closest(lines, wanted, best)
    else:
        said += f" No lines of {path} come close to it: search text is lines of the file itself."
    return f"{said} Copy the lines exactly as the file shows them. Nothing was changed."


def _closest(lines: Sequence[str], wanted: Sequence[str], best: _Window) -> str:
    text = "".join(lines[best.start : best.end]).rstrip("\n")
    quoted = text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "..."
    where = (
        f"line {best.end}" if best.end - best.start == 1 else f"lines {best.start + 1}-{best.end}"
    )
    said = f"The closest lines in the file are {where} ({best.score:.0%} alike): {quoted!r}."
    window = [line.rstrip("\n") for line in lines[best.start : best.end]]
    matcher = difflib.SequenceMatcher(None, [_bare(w) for w in wanted], [_bare(f) for f in window])
    for tag, i1, _i2, j1, _j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if tag == "insert":
            said += f" The search leaves out line {best.start + j1 + 1}: {window[j1].strip()!r}."
        elif tag == "delete":
            said += f" The file has no line {wanted[i1].strip()!r}."
        else:
            said += (
                f" The search's {wanted[i1].strip()!r} is {window[j1].strip()!r} at line "
                f"{best.start + j1 + 1}."
            )
        break
    return said
