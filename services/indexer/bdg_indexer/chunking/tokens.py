"""Token arithmetic for the chunker: range estimates from per-line counts, long-line splitting.

Counts are cl100k (``bdg_llm.tokens``). The count of joined lines is not the sum of the lines'
counts (BPE merges across a newline, e.g. ``"\\n\\n"``), so ranges are *estimated* from exact
per-line counts plus one token per newline, and every chunk is counted exactly before it is kept.
"""

from __future__ import annotations

from itertools import accumulate

from bdg_llm import tokens

# Any single character is at most 4 UTF-8 bytes, hence at most 4 byte-level tokens: with this
# floor a piece of one character always fits, so splitting a line always makes progress.
MIN_MAX_TOKENS = 8


def count(text: str) -> int:
    return tokens.count_text(text)


class LineCosts:
    """Exact token counts per line and estimates for ranges of lines (0-based, inclusive)."""

    def __init__(self, lines: list[str]) -> None:
        self.per_line = [count(line) for line in lines]
        self._prefix = [0, *accumulate(self.per_line)]

    def estimate(self, start: int, end: int) -> int:
        return self._prefix[end + 1] - self._prefix[start] + (end - start)


def split_long_line(line: str, max_tokens: int) -> list[str]:
    """Consecutive pieces of ``line``, each of at most ``max_tokens`` tokens, joining to it.

    Each piece is found by encoding a window ahead of it (sized from the previous piece, doubled
    while it holds too few tokens) and keeping the window's first ``max_tokens`` tokens; the
    piece is then counted on its own, and the rare one that counts more alone is shortened by
    bisection. Work stays linear in the line, even for a megabyte of one line.
    """
    if max_tokens < MIN_MAX_TOKENS:
        raise ValueError(f"max_tokens must be at least {MIN_MAX_TOKENS}, got {max_tokens}")
    encoding = tokens.cl100k()
    pieces: list[str] = []
    start, window = 0, max_tokens * 4
    while start < len(line):
        end = min(len(line), start + window)
        window_tokens = encoding.encode_ordinary(line[start:end])
        if len(window_tokens) <= max_tokens and end < len(line):
            window *= 2
            continue
        if len(window_tokens) > max_tokens:
            # A guess only (tiktoken rewrites lone surrogates, BPE differs at edges): checked.
            head = encoding.decode_bytes(window_tokens[:max_tokens]).decode("utf-8", "ignore")
            end = min(len(line), start + max(1, len(head)))
            if count(line[start:end]) > max_tokens:
                end = _longest_fitting_end(line, start, end, max_tokens)
        pieces.append(line[start:end])
        window = max(2 * (end - start), MIN_MAX_TOKENS)
        start = end
    return pieces


def _longest_fitting_end(line: str, start: int, end: int, max_tokens: int) -> int:
    """An end in ``(start, end)`` whose piece fits: ``fits`` holds at ``lo``, fails at ``hi``."""
    lo, hi = start + 1, end
    while hi - lo > 1:
        middle = (lo + hi) // 2
        if count(line[start:middle]) <= max_tokens:
            lo = middle
        else:
            hi = middle
    return lo
