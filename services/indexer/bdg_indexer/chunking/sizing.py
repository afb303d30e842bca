"""How big a chunk may be: the embedding model's window decides, unless a cap is configured.

An embedder reads ``window_tokens`` of its own tokens at a time (MiniLM 256, OpenAI's
text-embedding-3 8,191). Chunks are capped at ``WINDOWS_PER_CHUNK`` windows counted in cl100k
tokens, and never above ``MAX_CHUNK_TOKENS``: a larger model changes chunk sizes by itself, and
a prompt still gets several chunks. The count is not the model's own (code has about 1.4
WordPiece tokens per cl100k token, bench.retrieval_quality prints how many chunks outgrow a
window); it need not be, since the embedder embeds every window of a chunk.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

MAX_CHUNK_TOKENS = 512
WINDOWS_PER_CHUNK = 2  # measured on bench.retrieval_quality's dev part (see the README)


@runtime_checkable
class Windowed(Protocol):
    @property
    def window_tokens(self) -> int: ...


def chunk_tokens(embedder: object, configured: int | None = None) -> int:
    """The chunk cap: ``configured`` when set, else from the embedder's window."""
    if configured is not None:
        return configured
    if isinstance(embedder, Windowed):
        return min(MAX_CHUNK_TOKENS, WINDOWS_PER_CHUNK * embedder.window_tokens)
    return MAX_CHUNK_TOKENS
