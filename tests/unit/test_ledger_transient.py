"""A ledger transaction aborted by PostgreSQL to break a deadlock is run again, a few times."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from psycopg import errors

from bdg_jobs.ledger.transient import TRIES, retrying_deadlocks


def failing(times: int, error: type[Exception]) -> tuple[list[int], Callable[[], Awaitable[str]]]:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error("deadlock detected")
        return "committed"

    return calls, attempt


def test_a_deadlocked_transaction_is_run_again_until_it_commits() -> None:
    calls, attempt = failing(TRIES - 1, errors.DeadlockDetected)
    assert asyncio.run(retrying_deadlocks(attempt)) == "committed"
    assert len(calls) == TRIES


def test_a_transaction_that_keeps_deadlocking_fails_after_the_last_try() -> None:
    calls, attempt = failing(TRIES, errors.DeadlockDetected)
    with pytest.raises(errors.DeadlockDetected):
        asyncio.run(retrying_deadlocks(attempt))
    assert len(calls) == TRIES


def test_any_other_error_is_not_run_again() -> None:
    calls, attempt = failing(1, errors.UniqueViolation)
    with pytest.raises(errors.UniqueViolation):
        asyncio.run(retrying_deadlocks(attempt))
    assert len(calls) == 1
