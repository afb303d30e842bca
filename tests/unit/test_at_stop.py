"""Closers run at a service's stop: all at once, each at most once, none held up by another."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bdg_runtime.at_stop import at_stop, run_at_stop


async def test_every_closer_runs_once_even_when_one_fails_or_hangs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "bdg_runtime.at_stop")
    ran: list[str] = []
    hung = asyncio.Event()

    async def gives_back() -> None:
        ran.append("gives back")

    async def fails() -> None:
        ran.append("fails")
        raise RuntimeError("database gone")

    async def hangs() -> None:
        ran.append("hangs")
        hung.set()
        await asyncio.Event().wait()

    at_stop("the leases", gives_back)
    at_stop("a broken pool", fails)
    at_stop("a stuck socket", hangs)
    assert await run_at_stop(0.2) == 2
    assert sorted(ran) == ["fails", "gives back", "hangs"]
    assert hung.is_set()
    said = caplog.text
    assert "at stop: the leases: done" in said
    assert "a broken pool failed: RuntimeError('database gone')" in said
    assert "a stuck socket did not finish within 0 s" in said
    assert await run_at_stop(0.2) == 0  # forgotten once run: a second stop runs nothing
    assert len(ran) == 3
