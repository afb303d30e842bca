"""What the indexer stores per piece of code: one chunk of one file at one blob."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceFile:
    """A file of the repository as indexed: its path, the git blob it is at, its text."""

    path: str
    blob_sha: str
    language: str
    text: str


@dataclass(frozen=True)
class Chunk:
    """Lines ``start_line..end_line`` (1-based, inclusive) of ``path`` at ``blob_sha``.

    ``number`` orders a file's chunks from 0; ``token_count`` is the cl100k count of ``text``.
    """

    path: str
    blob_sha: str
    number: int
    start_line: int
    end_line: int
    language: str
    token_count: int
    text: str
