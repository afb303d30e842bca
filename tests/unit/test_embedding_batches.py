"""How the offline embedder groups windows into onnxruntime runs: by length, so little compute
goes to padding, every window exactly once, within the memory bound."""

from __future__ import annotations

import random

import pytest

from bdg_llm.embeddings import BATCH_TOKENS, SPREAD, OfflineEmbedder, length_batches, usable_cores


def test_every_window_is_in_exactly_one_run_longest_first() -> None:
    rng = random.Random(3)
    lengths = [rng.randint(2, 256) for _ in range(500)]
    runs = length_batches(lengths)
    assert sorted(i for run in runs for i in run) == list(range(500))
    heads = [lengths[run[0]] for run in runs]
    assert heads == sorted(heads, reverse=True)
    for run in runs:
        longest = lengths[run[0]]
        assert all(lengths[i] <= longest for i in run)
        assert len(run) * longest <= BATCH_TOKENS
        assert all(lengths[i] >= SPREAD * longest for i in run)


def test_alternating_long_and_short_windows_are_not_padded_to_each_other() -> None:
    # The last window of a two-window chunk is short: in arrival order every run of a mix like
    # this pads the short ones to 256 (about 1.6 times the real tokens).
    lengths = [256, 60] * 64
    runs = length_batches(lengths, max_tokens=32 * 256)
    padded = sum(len(run) * lengths[run[0]] for run in runs)
    assert padded == sum(lengths)
    assert [len(run) for run in runs] == [32, 32, 64]  # 32 x 256 and 64 x 60 fit the budget
    assert [len(run) for run in length_batches(lengths, max_tokens=2048)] == [8] * 8 + [34, 30]


def test_an_item_over_the_budget_runs_alone_and_nothing_is_an_empty_run() -> None:
    assert length_batches([10, 5000, 10], max_tokens=100) == [[1], [0, 2]]
    assert length_batches([]) == []
    assert length_batches([7]) == [[0]]


def test_the_session_uses_every_usable_core_unless_told_otherwise() -> None:
    assert OfflineEmbedder().threads == usable_cores() >= 1
    assert OfflineEmbedder(threads=1).threads == 1
    with pytest.raises(ValueError, match="threads must be at least 1"):
        OfflineEmbedder(threads=0)
