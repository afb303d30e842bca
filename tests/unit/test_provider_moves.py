"""Which provider call follows each site decision: a table of (before, after) traffic."""

from __future__ import annotations

import pytest

from bdg_deployer.providers.moves import (
    AdvanceCanary,
    Move,
    Promote,
    RollBack,
    StartCanary,
    Traffic,
    moves,
)


def t(stable: str | None, canary: str | None = None, stage: int = 0, *served: str) -> Traffic:
    return Traffic(stable, canary, stage, frozenset(served))


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (t(None), t("r-a", None, 0, "r-a"), [Promote("r-a")]),
        (t("r-a", None, 0, "r-a"), t("r-a", "r-b"), [StartCanary("r-b")]),
        (t("r-a", "r-b", 0), t("r-a", "r-b", 1), [AdvanceCanary("r-b", 1)]),
        (t("r-a", "r-b", 1), t("r-a", "r-b", 1), []),  # an observation: nothing moves
        (t("r-a", "r-b", 1), t("r-b", None, 0, "r-a", "r-b"), [Promote("r-b", canary=True)]),
        (t("r-a", "r-b", 1), t("r-a"), [RollBack("r-a")]),  # canary rolled back
        (t("r-b", None, 0, "r-a", "r-b"), t("r-a", None, 0, "r-a", "r-b"), [RollBack("r-a")]),
        (t("r-b", None, 0, "r-a", "r-b"), t("r-c", None, 0, "r-a", "r-b", "r-c"), [Promote("r-c")]),
        (t("r-a", None, 0, "r-a"), t("r-a", None, 0, "r-a"), []),
    ],
)
def test_moves(before: Traffic, after: Traffic, expected: list[Move]) -> None:
    assert moves(before, after) == expected
