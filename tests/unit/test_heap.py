"""bdg_runtime.heap: what exists when a service is up is frozen out of the collector's walks;
cycles made later are still collected."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from bdg_runtime import heap


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def walked(obj: object) -> bool:
    """Whether the collector walks ``obj`` (gc.get_objects leaves the frozen ones out)."""
    return any(o is obj for o in gc.get_objects())


@pytest.mark.timeout(30)
@pytest.mark.usefixtures("restored_gc")
def test_start_up_objects_are_frozen_and_later_cycles_still_collected() -> None:
    from_start_up = [Node()]
    assert walked(from_start_up)
    middle, old = gc.get_threshold()[1:]

    frozen = heap.settle(young_threshold=5_000)

    assert not walked(from_start_up)
    assert frozen == gc.get_freeze_count() >= 1
    assert gc.get_threshold() == (5_000, middle, old)
    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle: only the collector frees it
    gone = weakref.ref(a)
    del a, b
    gc.collect()
    assert gone() is None


@pytest.mark.timeout(30)
@pytest.mark.usefixtures("restored_gc")
def test_settling_again_freezes_what_was_made_since() -> None:
    first = heap.settle()
    made_later = [Node()]
    assert walked(made_later)
    assert heap.settle() > first
    assert not walked(made_later)
    assert gc.get_threshold()[0] == heap.YOUNG_THRESHOLD
