"""A ledger transaction that PostgreSQL aborted to break a deadlock is run again.

Every ledger transaction locks reservations, then accounts in key order, yet the leased ledger's
hypothesis test saw two batches wait on each other while locking accounts, about once in eight
runs without a warm-up (accounts made inside a batch are locked where they are inserted: the
likely way round the order; the exact cycle was not pinned down). PostgreSQL then aborts one,
and its manual says to retry such a transaction. Nothing of an aborted transaction was
written, and the ledger's memory is only updated after a commit, so running it again is safe.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from psycopg import errors

log = logging.getLogger(__name__)
T = TypeVar("T")
TRIES = 4


async def retrying_deadlocks(attempt: Callable[[], Awaitable[T]], tries: int = TRIES) -> T:
    for _ in range(tries - 1):
        try:
            return await attempt()
        except (errors.DeadlockDetected, errors.SerializationFailure) as error:
            log.info("ledger transaction aborted by PostgreSQL, run again: %s", error)
    return await attempt()
