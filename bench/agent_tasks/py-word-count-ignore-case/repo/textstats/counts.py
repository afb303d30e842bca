"""Word statistics of a text."""

import re
from collections import Counter

WORD = re.compile(r"[A-Za-z']+")


def words(text: str) -> list[str]:
    """The words of `text`, in order (letters and apostrophes)."""
    return WORD.findall(text)


def word_counts(text: str) -> dict[str, int]:
    """How often each word occurs."""
    return dict(Counter(words(text)))


def most_common(text: str, n: int = 3) -> list[tuple[str, int]]:
    """The `n` most frequent words with their counts."""
    return Counter(words(text)).most_common(n)
