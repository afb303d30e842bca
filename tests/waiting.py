"""Waiting on a condition in tests: always with a deadline, looking again every POLL_INTERVAL.

Prefer waiting on the event itself (an asyncio.Event, a subscription, a process exit); these are
for conditions that have no event to wait on (a row in PostgreSQL, a line in a log file).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
POLL_INTERVAL = 0.05  # seconds between looks


async def eventually(
    probe: Callable[[], Awaitable[T | None]], timeout: float = 30, what: str = "condition"
) -> T:
    """Await ``probe`` until it returns a truthy value, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(POLL_INTERVAL)


def wait_until(
    condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition"
) -> None:
    """The same for synchronous code."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(POLL_INTERVAL)
