"""Retention per tenant: jobs that ended more than the tenant's ``retention_days`` ago are
purged (their events, read-model rows, key binding and bus messages). One runner at a time
across replicas: a pass runs only under a session advisory lock, and a replica that does not
get it skips its pass. Their audit trail (pseudonymous, signed) is left as it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg

from bdg_jobs.personal.erasure import BusPurge
from bdg_jobs.tenants import TenantPolicies

LOCK = 0x6264_675F_7265_7465  # "bdg_rete"
BATCH = 500
_EXPIRED = """
    SELECT "jobId" FROM agent_config
    WHERE tenant = %s AND state = ANY(%s) AND "updatedAt" < %s
    ORDER BY "updatedAt" LIMIT %s
"""
ENDED_STATES = ["done", "failed", "cancelled"]


def purge_jobs(conn: psycopg.Connection[Any], tenant: str, jobs: list[UUID]) -> None:
    with conn.transaction():
        conn.execute("DELETE FROM bdg_job_events WHERE originator_id = ANY(%s)", (jobs,))
        conn.execute(
            'DELETE FROM agent_config WHERE tenant = %s AND "jobId" = ANY(%s)',
            (tenant, [str(j) for j in jobs]),
        )
        conn.execute("DELETE FROM bdg_aggregate_subjects WHERE aggregate_id = ANY(%s)", (jobs,))
        conn.execute("DELETE FROM bdg_projection_poison WHERE originator = ANY(%s)", (jobs,))


class Retention:
    def __init__(
        self,
        database_url: str,
        policies: TenantPolicies,
        purge_bus: BusPurge,
        clock: Callable[[], datetime],
    ) -> None:
        self.url, self.policies, self.purge_bus, self.clock = (
            database_url,
            policies,
            purge_bus,
            clock,
        )

    async def step(self) -> int:
        """One pass: how many jobs were purged (0 as well when another replica holds it)."""
        purged = await asyncio.to_thread(self._purge_stored)
        for tenant, jobs in purged.items():
            await self.purge_bus(tenant, jobs)
        return sum(len(jobs) for jobs in purged.values())

    def _purge_stored(self) -> dict[str, list[UUID]]:
        purged: dict[str, list[UUID]] = {}
        with psycopg.connect(self.url, autocommit=True) as conn:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK,)).fetchone()
            if not (row and row[0]):
                return purged  # another replica's pass is running
            try:
                now = self.clock()
                tenants = conn.execute("SELECT DISTINCT tenant FROM agent_config").fetchall()
                for (tenant,) in tenants:
                    days = self.policies.for_tenant(tenant).retention_days
                    if days is None:
                        continue
                    cutoff = now - timedelta(days=days)
                    rows = conn.execute(_EXPIRED, (tenant, ENDED_STATES, cutoff, BATCH)).fetchall()
                    jobs = [UUID(r[0]) for r in rows]
                    if jobs:
                        purge_jobs(conn, tenant, jobs)
                        purged[tenant] = jobs
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK,))
        return purged
