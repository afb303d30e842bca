"""From a developer's question to the terms full-text search looks for.

Chunks are indexed with their identifiers split into words (spaces.split_sql), so the question
is split the same way: "handleRequest" and "handle_request" both become `handle`, `request`.
Terms are OR-ed, not AND-ed: a question shares a few words with the code it is about, rarely
all of them; text_search.py weighs each term by its rarity in the repository. An identifier of
several words also adds its words as a phrase term, so a chunk holding the identifier itself
ranks above one that has the words apart.
"""

from __future__ import annotations

import re

_CAMEL = re.compile(r"([a-z0-9])([A-Z])|([A-Z])([A-Z][a-z])")
_NON_WORD = re.compile(r"[^A-Za-z0-9]+")
_RAW_WORD = re.compile(r"[A-Za-z0-9_.]+")
MAX_TERMS = 24  # a pasted stack trace should not become a query of hundreds of branches


def split_identifiers(text: str) -> list[str]:
    """Words of ``text`` with identifiers split, lower-cased: same rules as the index."""
    spaced = _CAMEL.sub(lambda m: f"{m[1] or m[3]} {m[2] or m[4]}", text)
    return [w.lower() for w in _NON_WORD.split(spaced) if w]


def query_terms(question: str) -> list[str]:
    """Each a `to_tsquery` argument: a word, or a phrase `(a <-> b)` for an identifier."""
    terms: list[str] = []
    for raw in _RAW_WORD.findall(question):
        words = split_identifiers(raw)
        if len(words) > 1:
            # Only [a-z0-9] reach here: nothing in them is tsquery syntax.
            terms.append("(" + " <-> ".join(words) + ")")
        terms += words
    return list(dict.fromkeys(terms))[:MAX_TERMS]
