"""Publishing again the event a job waits on (resume, retry, reconcile).

The message id carries the job's current version: two re-drives of one state are one message,
and a re-drive after JetStream lost its data is not mistaken for a duplicate of the original.
"""

from __future__ import annotations

import asyncio
from uuid import UUID

from nats.js import JetStreamContext

from bdg_contracts import subjects, wire
from bdg_contracts.base import Event
from bdg_jobs.redrive import pending_trigger
from bdg_jobs.store import JobStore

REDRIVE_MARK = ":redrive:"


class Redriver:
    def __init__(self, store: JobStore, js: JetStreamContext) -> None:
        self.store, self.js = store, js

    async def __call__(self, job_id: UUID) -> Event | None:
        history = await asyncio.to_thread(self.store.history, job_id)
        trigger = pending_trigger(history)
        if trigger is None:
            return None
        headers = wire.headers_for(trigger)
        headers["Nats-Msg-Id"] = f"{subjects.msg_id(trigger)}{REDRIVE_MARK}{history[-1].version}"
        await self.js.publish(subjects.subject_of(trigger), wire.encode(trigger), headers=headers)
        return trigger
