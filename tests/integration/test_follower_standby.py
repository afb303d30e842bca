"""The gateway follows the log only while no background service does (follower.py): a standby
leads alone, hands over when a worker connects, and takes the lead back when it goes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from bdg_runtime.follower import follow
from tests.waiting import eventually


class Counting:
    """A follower task that records each step (idle steps too: stepping is leading)."""

    def __init__(self, name: str) -> None:
        self.name, self.steps = name, 0

    async def step(self) -> int:
        self.steps += 1
        return 0


@contextlib.asynccontextmanager
async def following(url: str, task: Counting, *, standby: bool) -> AsyncIterator[None]:
    stop = asyncio.Event()
    running = asyncio.create_task(follow(url, [task], stop, idle_wait=0.05, standby=standby))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)


async def leads(task: Counting) -> bool:
    """True once ``task`` is stepped a few more times from now (or the wait fails)."""
    seen = task.steps

    async def moved() -> bool:
        return task.steps > seen + 2

    return await eventually(moved, 15, f"{task.name} to lead")


@pytest.mark.timeout(60)
async def test_the_standby_leads_alone_and_hands_over_to_a_worker(database_url: str) -> None:
    gateway, worker = Counting("gateway"), Counting("worker")
    async with following(database_url, gateway, standby=True):
        assert await leads(gateway)
        async with following(database_url, worker, standby=False):
            assert await leads(worker)
            # The gateway stepped no more once the worker led: only one leader at a time.
            before = gateway.steps
            assert await leads(worker)
            assert gateway.steps == before
        assert await leads(gateway)  # the worker went: the standby takes the lead back
