"""One use case: write the signed audit file of a job that ended, exactly once.

Load the job up to the ending event, and the job's audit trail; if the trail records this file,
done. Else build the file (deterministic key), store it unless a crashed earlier try already did
(then that object is taken as it is), and record ``AuditFileWritten`` at the trail's next
version: a concurrent writer of the same file loses on that version and finds it recorded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from bdg_audit.chain import signed_file
from bdg_audit.layout import file_key
from bdg_audit.rows import IN_PLAIN, People, rows_of
from bdg_auditor.adapters import AuditStorage, facts_of_existing
from bdg_auditor.domain import AuditTrail, FileFacts, ended_state
from bdg_contracts.audit_events import AuditFileWritten, audit_trail_id
from bdg_jobs.errors import ConcurrencyConflictError
from bdg_jobs.personal.pseudonyms import KeyedPeople
from bdg_jobs.store import JobStore

log = logging.getLogger(__name__)
PRODUCER = "auditor"
MAX_CONFLICTS = 5


class Auditing:
    def __init__(
        self, store: JobStore, storage: AuditStorage, prefix: str, clock: Callable[[], datetime]
    ) -> None:
        self.store, self.storage, self.prefix, self.clock = store, storage, prefix, clock
        # People as keyed pseudonyms when the store seals (bdg_audit.rows says why).
        vault = store.personal.vault if store.personal is not None else None
        self.people: People = IN_PLAIN if vault is None else KeyedPeople(vault)

    async def trail(self, job_id: UUID, tenant_id: str) -> AuditTrail:
        history = await asyncio.to_thread(self.store.history, audit_trail_id(job_id))
        return AuditTrail.replay(job_id, tenant_id, history)

    async def write_file(self, job_id: UUID, through_version: int) -> AuditFileWritten | None:
        """The job's file as of ``through_version`` if the job ended there, else None."""
        history = await asyncio.to_thread(self.store.history, job_id, 0, through_version)
        state = ended_state(history) if history else None
        if state is None or history[-1].version != through_version:
            return None
        end = history[-1]
        for _ in range(MAX_CONFLICTS):
            trail = await self.trail(job_id, end.tenant_id)
            recorded = trail.file_for(through_version)
            if recorded is not None:
                return recorded
            key = file_key(self.prefix, end.tenant_id, end.occurred_at, job_id, through_version)
            signer = await self.storage.signer(self.clock())  # and the bucket and JWKS exist
            found = await self.storage.existing(key)
            if found is not None:
                written = facts_of_existing(found)
                log.info("audit file %s was stored before a crash: recording it", key)
            else:
                written = signed_file(
                    rows_of(history, self.people), str(job_id), through_version, state, signer
                )
                await self.storage.put(key, written.content)
            facts = FileFacts(
                key,
                written.sha256,
                written.rows,
                len(written.content),
                written.kids,
                history[0].occurred_at,
            )
            event = trail.record_file(through_version, facts, self.clock(), PRODUCER)
            try:
                await asyncio.to_thread(self.store.append, trail.pending)
            except ConcurrencyConflictError:
                continue  # another auditor recorded something meanwhile: look again
            log.info("audit file %s: %d rows, sha256 %s", key, facts.rows, facts.sha256[:12])
            return event
        raise ConcurrencyConflictError(f"audit trail of job {job_id}: too many writers")
