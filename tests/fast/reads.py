"""Counting the job log reads of each delivery, on the real store (in memory or PostgreSQL).

``CountingStore`` is the stack's own store (the same recorder) whose reads add to the
delivery being handled: ``counted`` wraps each handler so its reads, and only its, land in a
``DeliveryReads`` of its own. The current delivery is a context variable, so a handler that
runs inside another's publish (the in-memory broker runs them inline) counts apart, and a read
in a worker thread (``asyncio.to_thread`` copies the context) counts where it belongs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from bdg_contracts.base import Event
from bdg_jobs.store import JobStore
from bdg_runtime.reactions import Reaction


@dataclass
class DeliveryReads:
    service: str
    event: str
    reads: int = 0
    done: bool = False  # the handler returned (or raised)


CURRENT: ContextVar[DeliveryReads | None] = ContextVar("current_delivery", default=None)


class CountingStore(JobStore):
    """The real store, counting reads of a job's events made while a delivery is handled."""

    def __init__(self, store: JobStore) -> None:
        super().__init__(recorder=store.recorder, personal=store.personal)

    def history(self, job_id: UUID, after: int = 0, upto: int | None = None) -> list[Event]:
        current = CURRENT.get()
        if current is not None:
            current.reads += 1
        return super().history(job_id, after, upto)


def counted(service: str, reactions: list[Reaction], log: list[DeliveryReads]) -> list[Reaction]:
    """``reactions`` whose every delivery appends its count of reads to ``log``."""

    def wrap(handle: Callable[[Any], Awaitable[None]]) -> Callable[[Any], Awaitable[None]]:
        async def counting(delivery):  # type: ignore[no-untyped-def]  # any reaction's delivery
            reads = DeliveryReads(service, delivery.event.name)
            log.append(reads)
            token = CURRENT.set(reads)
            try:
                await handle(delivery)
            finally:
                CURRENT.reset(token)
                reads.done = True

        return counting

    return [dataclasses.replace(r, handle=wrap(r.handle)) for r in reactions]
