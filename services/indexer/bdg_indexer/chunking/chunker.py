"""Cut a source file into chunks of at most ``max_tokens`` cl100k tokens, on syntax boundaries.

How a file is cut:
1. Its language proposes cut strengths between lines (``chunking_cuts``): Python, JS/JSX and
   TS/TSX from a tree-sitter parse (top-level declarations, then class members, then
   statements, deeper and deeper); Markdown from headings, then paragraphs; anything else, or
   code that does not parse, from blank lines, then any line.
2. A range over the cap is cut at its strongest boundaries, each part again, until every part
   fits or is a single line.
3. Parts are merged greedily, in order, up to the cap; a single line over the cap is cut inside
   by tokens into pieces (see below).
   A chunk ends at the strongest boundary it contains when that is stronger than the one after
   it (unless that leaves less than a quarter of the cap), so a unit's head stays with its body.
4. A chunk that starts inside a unit (between statements, paragraphs or plain lines, not between
   declarations or sections) begins with up to ``overlap_lines`` lines before it, within an
   eighth of the cap and only when they fit.

Invariants: ``token_count == count_text(text) <= max_tokens``; lines are 1-based, inclusive, and
``text`` is exactly lines ``start_line..end_line`` joined with ``\\n`` (first and last non-blank);
chunks are numbered from 0 in file order (start and end lines never decrease, and only pieces of
one line share them); together they cover every non-blank line.

A line over the cap is the one exception to "whole lines": it becomes chunks of its own with
``start_line == end_line`` whose texts are consecutive pieces of that line (whitespace-only
pieces dropped), so the pieces in order, with those dropped, join to the line.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from bdg_indexer.chunking.cuts import Cuts, is_blank, markdown_cuts, split_lines, text_cuts
from bdg_indexer.chunking.languages import MARKDOWN
from bdg_indexer.chunking.syntax import syntax_cuts
from bdg_indexer.chunking.tokens import MIN_MAX_TOKENS, LineCosts, count, split_long_line
from bdg_indexer.chunks import Chunk, SourceFile

DEFAULT_MAX_TOKENS = 512
DEFAULT_OVERLAP_LINES = 3
OVERLAP_SHARE = 8  # overlap takes at most max_tokens // OVERLAP_SHARE tokens


def chunk_file(
    source: SourceFile,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    overlap_lines: int = DEFAULT_OVERLAP_LINES,
) -> list[Chunk]:
    """The chunks of ``source``; raises only ``ValueError`` for a cap below ``MIN_MAX_TOKENS``."""
    if max_tokens < MIN_MAX_TOKENS:
        raise ValueError(f"max_tokens must be at least {MIN_MAX_TOKENS}, got {max_tokens}")
    if overlap_lines < 0:
        raise ValueError(f"overlap_lines must not be negative, got {overlap_lines}")
    lines = split_lines(source.text)
    if all(is_blank(line) for line in lines):
        return []
    cuts = propose_cuts(source.language, source.text, lines)
    packer = _Packer(lines, cuts, LineCosts(lines), max_tokens, overlap_lines)
    return [
        Chunk(
            path=source.path,
            blob_sha=source.blob_sha,
            number=number,
            start_line=span.start + 1,
            end_line=span.end + 1,
            language=source.language,
            token_count=span.tokens,
            text=span.text,
        )
        for number, span in enumerate(packer.spans())
    ]


def propose_cuts(language: str, text: str, lines: list[str]) -> Cuts:
    if language == MARKDOWN:
        return markdown_cuts(lines)
    try:
        found = syntax_cuts(language, text, lines)
    except Exception:
        # Cuts only steer where chunks end: a parser failure must cost quality, never the file.
        found = None
    return found if found is not None else text_cuts(lines)


def _opens_nothing(line: str) -> bool:
    """Blank, or only closes what came before (``}``, ``);``, ``</div>``): poor context."""
    stripped = line.strip()
    return not stripped.strip(")]};,") or stripped.startswith("</")


@dataclass(frozen=True)
class _Span:
    start: int  # 0-based, inclusive
    end: int
    text: str
    tokens: int


class _Packer:
    def __init__(
        self, lines: list[str], cuts: Cuts, costs: LineCosts, max_tokens: int, overlap: int
    ) -> None:
        self.lines = lines
        self.cuts = cuts
        self.costs = costs
        self.max_tokens = max_tokens
        self.overlap = overlap

    def spans(self) -> list[_Span]:
        parts = self._parts()
        spans: list[_Span] = []
        k = 0
        while k < len(parts):
            start, end = parts[k]
            first, last = self._trim(start, end)
            if first > last:  # blank lines only
                k += 1
            elif first == last and self.costs.per_line[first] > self.max_tokens:
                spans.extend(self._pieces(first))
                k += 1
            elif (packed := self._pack(parts, k, first, spans)) is not None:
                span, k = packed
                spans.append(span)
            else:  # counted alone, the part's lines exceed their estimate: take them one by one
                parts[k : k + 1] = [(line, line) for line in range(start, end + 1)]
        return spans

    def _parts(self) -> list[tuple[int, int]]:
        """Ranges that fit (by estimate) or are single lines, cut at the strongest boundaries."""
        parts: list[tuple[int, int]] = []
        pending = [(0, len(self.lines) - 1)]
        while pending:
            start, end = pending.pop()
            if start == end or self.costs.estimate(start, end) <= self.max_tokens:
                parts.append((start, end))
                continue
            strengths = self.cuts.strength
            strongest = max(strengths[start + 1 : end + 1])
            bounds = [start, *(i for i in range(start + 1, end + 1) if strengths[i] == strongest)]
            bounds.append(end + 1)
            pending.extend((a, b - 1) for a, b in reversed(list(pairwise(bounds))))
        return parts

    def _pack(
        self, parts: list[tuple[int, int]], k: int, first: int, spans: list[_Span]
    ) -> tuple[_Span, int] | None:
        """The chunk starting with part ``k``, and the index of the part after it."""
        start = self._overlap_start(parts[k][0], first, parts[k][1], spans)
        j = k
        while j + 1 < len(parts) and self._fits(start, parts[j + 1][1]):
            j += 1
        j = self._strongest_end(parts, k, j, start)
        while True:
            last = self._trim(first, parts[j][1])[1]
            text = "\n".join(self.lines[start : last + 1])
            tokens = count(text)
            if tokens <= self.max_tokens:
                return _Span(start, last, text, tokens), j + 1
            if j > k:
                j -= 1
            elif start < first:
                start = first
            else:
                return None

    def _strongest_end(self, parts: list[tuple[int, int]], k: int, j: int, start: int) -> int:
        """End the chunk at a stronger boundary than the one after part ``j``, if it has one.

        Greedy filling alone would pull the head of a split unit (a class line, a heading) into
        the previous chunk; ending at the strongest boundary inside keeps it with its body. Only
        when what stays is not tiny (a quarter of the cap), since tiny chunks embed poorly.
        """
        if j + 1 >= len(parts):
            return j
        strengths = self.cuts.strength
        best, end = strengths[parts[j + 1][0]], j
        for i in range(j, k, -1):
            stronger = strengths[parts[i][0]] > best
            if stronger and self.costs.estimate(start, parts[i - 1][1]) >= self.max_tokens // 4:
                best, end = strengths[parts[i][0]], i - 1
        return end

    def _overlap_start(self, cut: int, first: int, end: int, spans: list[_Span]) -> int:
        if not self.overlap or not spans or self.cuts.clean[cut]:
            return first
        # A few lines, and never more than an eighth of the cap: context, not a second copy.
        budget = self.max_tokens // OVERLAP_SHARE
        start = max(first - self.overlap, spans[-1].start + 1, 0)
        while start < first and (
            _opens_nothing(self.lines[start])
            or self.costs.estimate(start, first - 1) > budget
            or not self._fits(start, end)
        ):
            start += 1
        return start

    def _fits(self, start: int, end: int) -> bool:
        return self.costs.estimate(start, end) <= self.max_tokens

    def _trim(self, start: int, end: int) -> tuple[int, int]:
        """First and last non-blank line of the range (first > last when all are blank)."""
        while start <= end and is_blank(self.lines[start]):
            start += 1
        while end >= start and is_blank(self.lines[end]):
            end -= 1
        return start, end

    def _pieces(self, line: int) -> list[_Span]:
        return [
            _Span(line, line, piece, count(piece))
            for piece in split_long_line(self.lines[line], self.max_tokens)
            if not is_blank(piece)
        ]
