"""An erased person's jobs leave the bus: their event messages (which carry the fields in
plain, as every consumer reads them) are purged from the events stream, and their dead
letters deleted. Consumers that already took a message are not affected."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from bdg_contracts import subjects
from bdg_runtime.dlq import list_dead_letters

DLQ_SCAN = 100_000  # dead letters looked at; a DLQ that long is an incident of its own


class BusPurger:
    def __init__(self, js: JetStreamContext) -> None:
        self.js = js

    async def __call__(self, tenant: str, jobs: Sequence[UUID]) -> int:
        """How many dead letters were deleted (a purge does not say how many it dropped)."""
        for job in jobs:
            try:
                await self.js.purge_stream(
                    subjects.events_stream(), subject=subjects.job_events(tenant, job)
                )
            except NotFoundError:
                return 0  # no stream yet: nothing was ever published
        wanted = set(jobs)
        deleted = 0
        for letter in await list_dead_letters(self.js, DLQ_SCAN):
            if letter.job_id in wanted:
                await self.js.delete_msg(subjects.dlq_stream(), letter.seq)
                deleted += 1
        return deleted
