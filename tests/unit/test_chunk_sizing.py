"""The chunk cap follows the embedding model's window unless one is configured."""

from __future__ import annotations

from dataclasses import dataclass

from bdg_indexer.chunking.sizing import MAX_CHUNK_TOKENS, WINDOWS_PER_CHUNK, chunk_tokens
from bdg_indexer.settings import IndexerSettings
from bdg_llm.embeddings import MAX_TOKENS, OfflineEmbedder


@dataclass(frozen=True)
class ShortWindow:
    window_tokens: int = 100


def test_the_window_of_the_embedder_sets_the_cap() -> None:
    assert chunk_tokens(OfflineEmbedder()) == min(MAX_CHUNK_TOKENS, WINDOWS_PER_CHUNK * MAX_TOKENS)
    assert chunk_tokens(ShortWindow()) == WINDOWS_PER_CHUNK * 100
    assert chunk_tokens(ShortWindow(window_tokens=8191)) == MAX_CHUNK_TOKENS
    assert chunk_tokens(object()) == MAX_CHUNK_TOKENS  # no window known


def test_a_configured_cap_wins() -> None:
    assert chunk_tokens(ShortWindow(), 300) == 300
    settings = IndexerSettings.model_validate({"bdg_index_max_tokens": "128"})
    assert chunk_tokens(OfflineEmbedder(), settings.bdg_index_max_tokens) == 128
    assert IndexerSettings().bdg_index_max_tokens is None
