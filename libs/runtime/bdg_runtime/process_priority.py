"""How a service process runs: its event loop and its CPU priority.

The API is what a person waits on; planning, coding, testing and indexing are background work
that a second of scheduling delay does not hurt. On a machine whose cores are all busy (the
embedded default on a laptop, or this project's 2-core CI), 200 jobs created at once set every
worker reacting while the next requests arrive, and the gateway got an equal share of the CPU
with seven busy workers. Background services lower their own priority (nice), so the kernel
serves the API first and gives the workers the rest: they lose nothing when a core is free.

Niceness alone does nothing where the kernel groups processes by session (autogroup, on by
default in most distributions' kernels and on this project's CI machine: see `man 7 sched`):
CPU is first shared between sessions, and niceness only counts within one. `bdg up` starts each
service in its own session, so a service at nice 10 alone in its session got as much CPU as a
gateway worker (measured: 6 busy processes at nice 19 took 3x the CPU of 2 at nice 0). A
service that leads its own session therefore sets the session's niceness too
(/proc/self/autogroup); one that does not (started from a shell) leaves the shell's alone.

uvloop, when installed (uvicorn[standard] brings it), is the event loop: it is what uvicorn
itself picks, and the gateway's HTTP path spends less of its CPU in the loop.
"""

from __future__ import annotations

import asyncio
import errno
import os
import time
from collections.abc import Callable
from pathlib import Path

INTERACTIVE = frozenset({"gateway"})  # answer people; the edge runs outside this runtime
BACKGROUND_NICE = 10
AUTOGROUP = Path("/proc/self/autogroup")
# The kernel takes one unprivileged autogroup change per 100 ms, machine-wide (EAGAIN): the
# services `bdg up` starts together each wait their turn, within this bound.
AUTOGROUP_TRIES, AUTOGROUP_RETRY_S = 30, 0.05


def default_nice(service: str) -> int:
    return 0 if service in INTERACTIVE else BACKGROUND_NICE


def lower_priority(target: int) -> int:
    """Raise this process's niceness to ``target`` (never lower it: that needs privileges an
    operator may have chosen not to give); the niceness now."""
    current = os.getpriority(os.PRIO_PROCESS, 0)
    if target > current:
        os.setpriority(os.PRIO_PROCESS, 0, target)
    return os.getpriority(os.PRIO_PROCESS, 0)


def session_nice() -> int | None:
    """The niceness of this process's autogroup; None without one of its own: autogroups off,
    or a process of the boot session (the kernel's root autogroup, whose file reads empty)."""
    try:
        # "/autogroup-123 nice 10"
        return int(AUTOGROUP.read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        return None


def lower_session_priority(target: int) -> int | None:
    """Raise the niceness of this process's autogroup to ``target`` if this process leads its
    session (the autogroup is then its own and its children's); the autogroup's niceness now,
    None without autogroups."""
    current = session_nice()
    if current is None or current >= target or os.getsid(0) != os.getpid():
        return current
    for _ in range(AUTOGROUP_TRIES):
        try:
            AUTOGROUP.write_text(str(target))
            break
        except OSError as error:
            if error.errno != errno.EAGAIN:
                break  # not allowed here (a container's read-only /proc): niceness stays
            time.sleep(AUTOGROUP_RETRY_S)
    return session_nice()


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
