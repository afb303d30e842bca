"""The static embedding table's pure parts: the rotation onto principal axes, the rarity
weights, and how `BDG_EMBEDDINGS` picks the static space."""

from __future__ import annotations

import numpy as np
import pytest

from bdg_llm.embeddings import OfflineEmbedder, embedder_from_env
from bdg_llm.static_embeddings import DIMS, StaticEmbedder, principal_axes, sif_weights


def test_principal_axes_centre_and_order_by_variance() -> None:
    rng = np.random.default_rng(7)
    rows = rng.normal(size=(500, 6)) * np.array([5.0, 3.0, 2.0, 1.0, 0.5, 0.1]) + 10.0
    projected = principal_axes(rows, 3)
    assert projected.shape == (500, 3)
    assert np.allclose(projected.mean(axis=0), 0.0, atol=1e-9)  # the shared offset is gone
    variances = projected.var(axis=0)
    assert list(variances) == sorted(variances, reverse=True)
    assert variances[0] == pytest.approx(25.0, rel=0.2)


def test_principal_axes_signs_do_not_depend_on_the_solver() -> None:
    # eigh may return an axis or its opposite: the sign is fixed by the data, so a flipped
    # copy of the same rows (same axes up to sign) projects identically.
    rng = np.random.default_rng(3)
    rows = rng.normal(size=(200, 4)) * np.array([4.0, 2.0, 1.0, 0.5])
    first = principal_axes(rows, 4)
    assert np.array_equal(first, principal_axes(rows.copy(), 4))
    mirrored = principal_axes(rows * np.array([-1.0, 1.0, -1.0, 1.0]), 4)
    assert np.allclose(np.abs(first), np.abs(mirrored))


def test_rarer_tokens_weigh_more_and_weights_stay_in_zero_one() -> None:
    weights = sif_weights(30522)
    assert np.all(np.diff(weights) > 0)  # later (rarer) ids weigh more
    assert 0.0 < weights[0] < 0.01
    assert 0.9 < weights[-1] < 1.0


def test_bdg_embeddings_offline_static_picks_its_own_space() -> None:
    chosen = embedder_from_env({"BDG_EMBEDDINGS": "offline-static", "BDG_HOME": "/tmp/h"})
    assert isinstance(chosen, StaticEmbedder)
    assert str(chosen.directory) == "/tmp/h/models"
    assert (chosen.model_name, chosen.dims) == ("all-MiniLM-L6-v2-int8-static-v1", DIMS)
    assert chosen.model_name != OfflineEmbedder.model_name
    # auto never picks it: MiniLM stays the offline default
    assert isinstance(embedder_from_env({}), OfflineEmbedder)
    with pytest.raises(ValueError, match="offline-static"):
        embedder_from_env({"BDG_EMBEDDINGS": "static"})
