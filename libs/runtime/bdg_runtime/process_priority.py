"""How a service process runs: its event loop and its CPU priority.

The API is what a person waits on; planning, coding, testing and indexing are background work
that a second of scheduling delay does not hurt. On a machine whose cores are all busy (the
embedded default on a laptop, or this project's 2-core CI), 200 jobs created at once set every
worker reacting while the next requests arrive, and the gateway got an equal share of the CPU
with seven busy workers. Background services lower their own priority (nice), so the kernel
serves the API first and gives the workers the rest: they lose nothing when a core is free.

uvloop, when installed (uvicorn[standard] brings it), is the event loop: it is what uvicorn
itself picks, and the gateway's HTTP path spends less of its CPU in the loop.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

INTERACTIVE = frozenset({"gateway"})  # answer people; the edge runs outside this runtime
BACKGROUND_NICE = 10


def default_nice(service: str) -> int:
    return 0 if service in INTERACTIVE else BACKGROUND_NICE


def lower_priority(target: int) -> int:
    """Raise this process's niceness to ``target`` (never lower it: that needs privileges an
    operator may have chosen not to give); the niceness now."""
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if target > current:
        os.setpriority(os.PRIO_PROCESS, 0, target)
    return os.getpriority(os.PRIO_PROCESS, 0)


def loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop ``asyncio.Runner`` should make: uvloop's, or asyncio's own (None)."""
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise
        return None
    return uvloop.new_event_loop
