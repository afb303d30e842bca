"""Taking audit objects out of the bucket without breaking what remains: first a signed removal
record (``bdg_audit.removals``) listing them and why, chained to the tenant's last digest-chain
entry and recorded once as ``AuditObjectsRemoved`` (a concurrent writer loses on the chain's
version), then the deletes.

Crash-safe: the record's key is deterministic (its moment comes in), an object found at it
(stored by a try a crash cut short) is taken as it is, and the deletes of the last recorded
record are done again by the next pass (deleting a missing object is no error in S3).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from bdg_audit.digests import Previous, sign_digest, signature_sha256
from bdg_audit.keys import kid_of
from bdg_audit.removals import Removed, removal_body, removal_key, removed_of
from bdg_auditor.adapters import AuditStorage
from bdg_auditor.digester import ChainEvent
from bdg_contracts.audit_events import (
    AuditDigestWritten,
    AuditObjectsRemoved,
    RemovalReason,
    digest_chain_id,
)
from bdg_jobs.errors import ConcurrencyConflictError
from bdg_jobs.store import JobStore

log = logging.getLogger(__name__)


class RemovalRecords:
    def __init__(
        self, store: JobStore, storage: AuditStorage, prefix: str, clock: Callable[[], datetime]
    ) -> None:
        self.store, self.storage, self.prefix, self.clock = store, storage, prefix, clock

    async def chain(self, tenant: str) -> list[ChainEvent]:
        history = await asyncio.to_thread(self.store.history, digest_chain_id(tenant))
        return [e for e in history if isinstance(e, AuditDigestWritten | AuditObjectsRemoved)]

    async def record(
        self,
        tenant: str,
        reason: RemovalReason,
        at: datetime,
        detail: dict[str, Any],
        removed: list[Removed],
        covers_until: datetime | None = None,
        erasure_id: UUID | None = None,
    ) -> AuditObjectsRemoved | None:
        """The signed record stored and recorded (None: another writer took the chain's next
        version first; the caller's next pass looks again)."""
        chain = await self.chain(tenant)
        previous = Previous(chain[-1].object_key, chain[-1].signature_sha256) if chain else None
        tag = "" if erasure_id is None else f"-{erasure_id}"
        key = removal_key(self.prefix, tenant, at, reason.value, tag)
        signer = await self.storage.signer(self.clock())
        found = await self.storage.existing(key)
        if found is not None:  # stored before a crash: taken as it is
            content = found
            signature = str(json.loads(found)["signature"])
            count = len(removed_of(json.loads(found)["digest"]))
        else:
            body = removal_body(tenant, reason.value, detail, removed, previous)
            signed = sign_digest(body, signer)
            await self.storage.put(key, signed.content, "application/json")
            content, signature, count = signed.content, signed.signature, len(removed)
        event = AuditObjectsRemoved(
            job_id=digest_chain_id(tenant),
            version=len(chain) + 1,
            correlation_id=str(digest_chain_id(tenant)),
            tenant_id=tenant,
            producer="auditor",
            occurred_at=self.clock(),
            reason=reason,
            object_key=key,
            sha256=hashlib.sha256(content).hexdigest(),
            removed=count,
            kid=kid_of(signature),
            signature_sha256=signature_sha256(signature),
            covers_until=covers_until,
            erasure_id=erasure_id,
        )
        try:
            await asyncio.to_thread(self.store.append, [event])
        except ConcurrencyConflictError:
            return None
        log.info("audit removal record %s: %d object(s), %s", key, count, reason.value)
        return event

    async def carry_out(self, record: AuditObjectsRemoved) -> int:
        """Delete what the recorded ``record`` lists (again after a crash); how many."""
        content = await self.storage.existing(record.object_key)
        if content is None or hashlib.sha256(content).hexdigest() != record.sha256:
            log.warning("removal record %s is not as recorded: nothing deleted", record.object_key)
            return 0
        listed = removed_of(json.loads(content)["digest"])
        for gone in listed:
            await asyncio.to_thread(self.storage.store.delete, gone.key)
        return len(listed)
