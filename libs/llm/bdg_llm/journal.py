"""The model calls one handler made, to record them on the job with its reaction.

A handler opens a journal; the model adapters it calls note every result (answers that failed
validation too: they were paid for, and a replay must fail the same way). Each asyncio task has
its own context, so concurrent handlers never mix their calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from bdg_llm.api import ChatResult

_current: ContextVar[list[tuple[str, ChatResult]] | None] = ContextVar("llm_calls", default=None)


@contextmanager
def journal() -> Iterator[list[tuple[str, ChatResult]]]:
    calls: list[tuple[str, ChatResult]] = []
    token = _current.set(calls)
    try:
        yield calls
    finally:
        _current.reset(token)


def note(role: str, result: ChatResult) -> None:
    """Keep ``result`` in the open journal (none open: nobody records, nothing to do)."""
    calls = _current.get()
    if calls is not None:
        calls.append((role, result))


def take() -> list[tuple[str, ChatResult]]:
    """The calls noted so far, out of the open journal: the caller records them itself (a
    coder candidate whose result is kept aside at once, so a redelivery does not pay again)."""
    calls = _current.get()
    if calls is None:
        return []
    taken = list(calls)
    calls.clear()
    return taken
