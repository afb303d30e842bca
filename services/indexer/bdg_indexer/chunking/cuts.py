"""Where a file may be cut: a strength for every line boundary, and the plain-text proposals.

``strength[i]`` rates cutting right before line ``i`` (0-based). The chunker cuts a too-large
range at its strongest boundaries first, so a proposal only steers where chunks end; it can
never break the chunk invariants (any line boundary is a valid cut). ``clean[i]`` marks a cut
between whole units (declarations, class members, headed sections): no overlap is added there,
because the tail of an unrelated unit is noise for the embedding, not context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LINE = 0  # any line boundary: the last resort
PARAGRAPH = 1  # a non-blank line after a blank one
UNINDENTED_PARAGRAPH = 2  # ... starting at column 0: likely a new top-level block
MARKDOWN_PARAGRAPH = 3  # a paragraph break outside code fences
HEADING_BASE = 100  # a Markdown heading of level h: HEADING_BASE - h
SYNTAX_BASE = 1000  # a syntax node at nesting depth d: SYNTAX_BASE - d, at least SYNTAX_MIN
SYNTAX_MIN = 10


@dataclass
class Cuts:
    strength: list[int]
    clean: list[bool]

    @classmethod
    def empty(cls, line_count: int) -> Cuts:
        return cls([LINE] * line_count, [False] * line_count)

    def propose(self, line: int, strength: int, clean: bool = False) -> None:
        """Keep the strongest proposal for the boundary before ``line`` (ties: clean wins)."""
        if not 0 < line < len(self.strength):
            return
        if strength > self.strength[line]:
            self.strength[line] = strength
            self.clean[line] = clean
        elif strength == self.strength[line]:
            self.clean[line] = self.clean[line] or clean


def split_lines(text: str) -> list[str]:
    """The file's lines, split on ``\\n`` only (as git and editors number them).

    A final newline ends the last line rather than starting an empty one; ``\\r`` of CRLF files
    stays part of its line, so joining lines with ``\\n`` gives back the exact text.
    """
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    return lines


def is_blank(line: str) -> bool:
    return not line.strip()


def text_cuts(lines: list[str]) -> Cuts:
    """Prefer blank lines, more so before an unindented line (works for most languages)."""
    cuts = Cuts.empty(len(lines))
    for i in range(1, len(lines)):
        if is_blank(lines[i - 1]) and not is_blank(lines[i]):
            unindented = not lines[i][:1].isspace()
            cuts.propose(i, UNINDENTED_PARAGRAPH if unindented else PARAGRAPH)
    return cuts


_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_ATX_HEADING = re.compile(r" {0,3}(#{1,6})(?:[ \t]|$)")
_SETEXT_UNDERLINE = re.compile(r" {0,3}(=+|-+)[ \t]*$")
_FRONT_MATTER = re.compile(r"(---|\+\+\+)[ \t]*$")


def markdown_cuts(lines: list[str]) -> Cuts:
    """Headings (ATX and setext) cut sections, paragraphs cut inside; code fences are opaque."""
    cuts = text_cuts(lines)
    fence: str | None = None
    first = _after_front_matter(lines)
    for i in range(first, len(lines)):
        line = lines[i]
        if fence is not None:
            stripped = line.strip()
            if stripped.startswith(fence) and not stripped.strip(fence[0]):
                fence = None
            continue
        if i > 0 and is_blank(lines[i - 1]) and not is_blank(line):
            cuts.propose(i, MARKDOWN_PARAGRAPH)
        if opened := _FENCE.match(line):
            fence = opened.group(1)
        elif heading := _ATX_HEADING.match(line):
            cuts.propose(i, HEADING_BASE - len(heading.group(1)), clean=True)
        elif _is_setext_underline(lines, i):
            level = 1 if line.strip().startswith("=") else 2
            cuts.propose(i - 1, HEADING_BASE - level, clean=True)
    return cuts


def _after_front_matter(lines: list[str]) -> int:
    """The first line after a YAML/TOML front matter block (whose ``---`` is no heading)."""
    if not lines or not (opening := _FRONT_MATTER.match(lines[0])):
        return 0
    for i in range(1, len(lines)):
        if lines[i].strip() == opening.group(1):
            return i + 1
    return 0


def _is_setext_underline(lines: list[str], i: int) -> bool:
    # Only a one-line paragraph counts as the heading text: enough for real documents, and a
    # "---" after a longer paragraph is as often a thematic break.
    if i == 0 or not _SETEXT_UNDERLINE.match(lines[i]):
        return False
    title = lines[i - 1]
    if is_blank(title) or _FENCE.match(title) or _ATX_HEADING.match(title):
        return False
    return i == 1 or is_blank(lines[i - 2])
