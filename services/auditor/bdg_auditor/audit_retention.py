"""Retention of audit files and digests: a tenant's ``retention_days`` applies to its audit
files (by the day their job ended) and digests (by the end of their period) too.

Each pass, per tenant with a policy: the cutoff is the start of the digest period ``N`` days
ago; what is still in the bucket from before it is listed in one signed removal record, then
deleted. The chain of digests goes on through the record (the next digest names it), and the
verifier takes what it lists as gone for a reason, so what remains still verifies. Digests are
not written again for the periods the record covers.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from bdg_audit.digests import period_of
from bdg_audit.layout import tenant_prefix
from bdg_audit.manifest import Recorded, all_recorded_files, day_of_key
from bdg_audit.removals import Removed
from bdg_auditor.removal_records import RemovalRecords
from bdg_contracts.audit_events import AuditDigestWritten, AuditObjectsRemoved, RemovalReason
from bdg_jobs.tenants import TenantPolicies

log = logging.getLogger(__name__)


class AuditRetention:
    def __init__(
        self,
        records: RemovalRecords,
        database_url: str,
        policies: TenantPolicies,
        period: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self.records, self.url, self.policies = records, database_url, policies
        self.period, self.clock = period, clock

    async def step(self) -> int:
        """One pass; returns how many objects were removed."""
        by_tenant: dict[str, list[Recorded]] = defaultdict(list)
        for record in await asyncio.to_thread(all_recorded_files, self.url):
            by_tenant[record.tenant_id].append(record)
        removed = 0
        for tenant, files in by_tenant.items():
            days = self.policies.for_tenant(tenant).retention_days
            if days is not None:
                cutoff = period_of(self.clock() - timedelta(days=days), self.period)
                removed += await self._tenant(tenant, files, days, cutoff)
        return removed

    async def _tenant(self, tenant: str, files: list[Recorded], days: int, cutoff: datetime) -> int:
        chain = await self.records.chain(tenant)
        last = next((e for e in reversed(chain) if isinstance(e, AuditObjectsRemoved)), None)
        if last is not None:
            await self.records.carry_out(last)  # a pass a crash cut short is finished
        if any(isinstance(e, AuditObjectsRemoved) and e.covers_until == cutoff for e in chain):
            return 0  # this period's pass is recorded: what it missed, the next one takes
        store = self.records.storage.store
        prefix = tenant_prefix(self.records.prefix, tenant)
        present = {o.key for o in await asyncio.to_thread(lambda: list(store.list(prefix)))}
        old = [
            Removed(r.object_key, r.sha256)
            for r in files
            if r.object_key in present and day_of_key(r.object_key) < cutoff.date()
        ]
        old += [
            Removed(e.object_key, e.sha256)
            for e in chain
            if isinstance(e, AuditDigestWritten)
            and e.period_end <= cutoff
            and e.object_key in present
        ]
        if not old:
            return 0
        detail = {"retention_days": days, "before": cutoff.isoformat()}
        record = await self.records.record(
            tenant, RemovalReason.retention, cutoff, detail, old, covers_until=cutoff
        )
        if record is None:
            return 0  # another auditor's pass recorded first: the next pass looks again
        return await self.records.carry_out(record)
