"""Stopping a server that may not be our child: the embedded PostgreSQL, NATS and SeaweedFS are
started by whichever command came first and stopped by whichever is last.

``psutil.Process.wait`` on another process's child waits for the pid to vanish, and an orphan's
zombie never vanishes where the init process reaps nothing (as on this project's CI machines):
every stop then waited its whole timeout and killed a server that had already exited. A pidfd
becomes readable at the exit of any process, child or not.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal


def wait_exited(pid: int, timeout: float) -> bool:
    """Whether ``pid`` has exited (a zombie counts) within ``timeout`` seconds, reaping it when
    it is our child."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([fd], [], [], timeout)
    finally:
        os.close(fd)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    return bool(readable)


def stop(pid: int, grace: float, kill_wait: float, sig: int = signal.SIGTERM) -> bool:
    """``sig``, then SIGKILL after ``grace`` seconds; whether it exited within ``kill_wait``
    seconds more."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return True
    if wait_exited(pid, grace):
        return True
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return wait_exited(pid, kill_wait)
