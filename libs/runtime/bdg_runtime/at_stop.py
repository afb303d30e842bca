"""What a service lets go of once its handlers have finished, before the process ends.

Things made deep inside a service's build (a budget ledger's lease, held for the next calls)
have no owner the runtime can see; they register here how to let go, and ``serve`` runs them
after the bus has stopped, so no handler is still paying from a lease being given back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Closer = Callable[[], Awaitable[None]]
_closers: list[tuple[str, Closer]] = []


def at_stop(what: str, closer: Closer) -> None:
    _closers.append((what, closer))


async def run_at_stop(timeout: float) -> int:
    """Run (and forget) every registered closer at once, within ``timeout``; how many failed.
    One that fails or hangs is logged and does not keep the others from running."""
    closers = list(_closers)
    _closers.clear()
    if not closers:
        return 0
    tasks = [asyncio.ensure_future(closer()) for _, closer in closers]
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    failed = 0
    for (what, _), task in zip(closers, tasks, strict=True):
        if task in pending:
            task.cancel()
            log.warning("at stop: %s did not finish within %.0f s", what, timeout)
            failed += 1
        elif (error := task.exception()) is not None:
            log.warning("at stop: %s failed: %r", what, error)
            failed += 1
        else:
            log.info("at stop: %s: done", what)
    return failed
