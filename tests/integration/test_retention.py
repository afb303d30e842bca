"""Retention on the real database and bus: a tenant's jobs that ended before its retention
window are purged (events, read model, key binding, bus messages); running or recent jobs and
other tenants' stay; one runner at a time across replicas (advisory lock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import psycopg
import pytest
from nats.js.errors import NotFoundError

from bdg_contracts import subjects
from bdg_jobs.domain import Cause, Job
from bdg_jobs.personal.retention import LOCK, Retention
from bdg_jobs.tenants import TenantPolicies, TenantPolicy
from bdg_runtime.bus_erasure import BusPurger
from tests.gateway_stack import Stack, new_tenant

pytestmark = pytest.mark.timeout(60)
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


async def _job(stack: Stack, tenant: str, at: datetime, end: bool) -> UUID:
    cause = Cause(producer="user:ivy", occurred_at=at, user_id="ivy")
    job = Job.request(uuid4(), tenant, cause, goal="keep me a while")
    if end:
        job.cancel(cause, reason="done with it")
    await stack.app.start(job)
    return job.job_id


async def _stream_has(stack: Stack, tenant: str, job: UUID) -> bool:
    js = stack.nc.jetstream()
    try:
        await js.get_last_msg(subjects.events_stream(), f"{subjects.job_events(tenant, job)}")
    except NotFoundError:
        return False
    return True


async def test_ended_jobs_past_the_window_are_purged_by_one_runner(stack: Stack) -> None:
    tenant, other = new_tenant(), new_tenant()
    old_ended = await _job(stack, tenant, NOW - timedelta(days=40), end=True)
    old_running = await _job(stack, tenant, NOW - timedelta(days=40), end=False)
    recent_ended = await _job(stack, tenant, NOW - timedelta(days=2), end=True)
    elsewhere = await _job(stack, other, NOW - timedelta(days=40), end=True)
    stack.project()
    assert await _stream_has(stack, tenant, old_ended)
    policies = TenantPolicies(tenants={tenant: TenantPolicy(retention_days=30)})
    retention = Retention(
        stack.database_url, policies, BusPurger(stack.nc.jetstream()), lambda: NOW
    )

    # Another replica's pass holds the lock: this one skips, nothing is purged.
    with psycopg.connect(stack.database_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK,))
        assert await retention.step() == 0
        assert len(stack.store.history(old_ended)) == 2
        holder.execute("SELECT pg_advisory_unlock(%s)", (LOCK,))

    assert await retention.step() == 1
    assert stack.store.history(old_ended) == []
    assert not await _stream_has(stack, tenant, old_ended)
    for kept in (old_running, recent_ended, elsewhere):
        assert stack.store.history(kept), kept
    with psycopg.connect(stack.database_url) as conn:
        rows = conn.execute('SELECT "jobId" FROM agent_config').fetchall()
        bound = conn.execute(
            "SELECT count(*) FROM bdg_aggregate_subjects WHERE aggregate_id = %s", (old_ended,)
        ).fetchone()
    assert {r[0] for r in rows} == {str(old_running), str(recent_ended), str(elsewhere)}
    assert bound == (0,)
    assert await retention.step() == 0  # nothing left to purge
