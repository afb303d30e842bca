"""Every period (an hour by default), one signed digest per tenant of the audit files recorded in
it, chained to the tenant's previous digest, written once (recorded as ``AuditDigestWritten``
in the tenant's digest chain, whose next version a concurrent writer loses).

A period is digested once it closed ``grace`` ago, so files recorded at its very end are in.
Periods in which a tenant recorded no file get no digest; the chain skips them. Removal records
(``bdg_auditor.audit_retention``, erasure rewrites) are entries of the same chain: the next
digest names the last entry, whichever kind.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from bdg_audit.digests import (
    ListedFile,
    Previous,
    digest_body,
    digest_key,
    period_of,
    sign_digest,
    signature_sha256,
)
from bdg_audit.keys import kid_of
from bdg_audit.manifest import Recorded, all_recorded_files
from bdg_auditor.adapters import AuditStorage
from bdg_contracts.audit_events import AuditDigestWritten, AuditObjectsRemoved, digest_chain_id
from bdg_jobs.errors import ConcurrencyConflictError
from bdg_jobs.store import JobStore

log = logging.getLogger(__name__)


ChainEvent = AuditDigestWritten | AuditObjectsRemoved


def covered_until(chain: list[ChainEvent]) -> datetime | None:
    """Where the next digest starts: after the last period digested, or removed by
    retention (its files are gone: a digest of them would list what is not there)."""
    ends = [e.period_end for e in chain if isinstance(e, AuditDigestWritten)]
    ends += [e.covers_until for e in chain if isinstance(e, AuditObjectsRemoved) and e.covers_until]
    return max(ends, default=None)


class Digester:
    def __init__(
        self,
        store: JobStore,
        storage: AuditStorage,
        database_url: str,
        prefix: str,
        length: timedelta,
        clock: Callable[[], datetime],
        grace: timedelta = timedelta(seconds=30),
    ) -> None:
        self.store, self.storage, self.url, self.prefix = store, storage, database_url, prefix
        self.length, self.clock, self.grace = length, clock, grace

    async def step(self) -> int:
        """Write every digest that is due; returns how many."""
        closed_before = period_of(self.clock() - self.grace, self.length)
        by_tenant: dict[str, list[Recorded]] = defaultdict(list)
        for record in await asyncio.to_thread(all_recorded_files, self.url):
            by_tenant[record.tenant_id].append(record)
        written = 0
        for tenant, records in by_tenant.items():
            written += await self._tenant(tenant, records, closed_before)
        return written

    async def _tenant(self, tenant: str, records: list[Recorded], closed_before: datetime) -> int:
        chain = [
            e
            for e in await asyncio.to_thread(self.store.history, digest_chain_id(tenant))
            if isinstance(e, ChainEvent)
        ]
        after = covered_until(chain)
        periods: dict[datetime, list[Recorded]] = defaultdict(list)
        for r in records:
            if (after is None or r.recorded_at >= after) and r.recorded_at < closed_before:
                periods[period_of(r.recorded_at, self.length)].append(r)
        for start in sorted(periods):
            event = await self._write(tenant, start, periods[start], chain)
            if event is None:
                return len(periods)  # another auditor wrote it meanwhile: next pass
            chain.append(event)
        return len(periods)

    async def _write(
        self, tenant: str, start: datetime, records: list[Recorded], chain: list[ChainEvent]
    ) -> AuditDigestWritten | None:
        previous = Previous(chain[-1].object_key, chain[-1].signature_sha256) if chain else None
        files = [ListedFile(r.object_key, r.sha256, r.job_id, r.through_version) for r in records]
        body = digest_body(tenant, start, start + self.length, files, previous)
        key = digest_key(self.prefix, tenant, start)
        signer = await self.storage.signer(self.clock())
        found = await self.storage.existing(key)
        if found is not None:  # stored before a crash: taken as it is
            signature = str(json.loads(found)["signature"])
            content = found
        else:
            signed = sign_digest(body, signer)
            await self.storage.put(key, signed.content, "application/json")
            signature, content = signed.signature, signed.content
        event = AuditDigestWritten(
            job_id=digest_chain_id(tenant),
            version=len(chain) + 1,
            correlation_id=str(digest_chain_id(tenant)),
            tenant_id=tenant,
            producer="auditor",
            occurred_at=self.clock(),
            period_start=start,
            period_end=start + self.length,
            object_key=key,
            sha256=hashlib.sha256(content).hexdigest(),
            files=len(files),
            kid=kid_of(signature),
            signature_sha256=signature_sha256(signature),
        )
        try:
            await asyncio.to_thread(self.store.append, [event])
        except ConcurrencyConflictError:
            return None
        log.info("audit digest %s: %d file(s)", key, len(files))
        return event
