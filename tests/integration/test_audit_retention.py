"""Retention of audit files and digests over real PostgreSQL and S3 (SeaweedFS): what is older
than the tenant's ``retention_days`` leaves the bucket under one signed removal record, the
chain of digests goes on through it, and everything that remains verifies with the public keys.
A removal record cannot be used to hide a deletion: altered or deleted, it vouches for nothing.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from bdg_audit.digests import sign_digest
from bdg_audit.reader import AuditReader
from bdg_audit.removals import Removed
from bdg_audit.verify import Fault
from bdg_auditor.audit_retention import AuditRetention
from bdg_auditor.digester import Digester
from bdg_auditor.removal_records import RemovalRecords
from bdg_contracts.audit_events import (
    AuditDigestWritten,
    AuditFileWritten,
    AuditObjectsRemoved,
    RemovalReason,
    digest_chain_id,
)
from bdg_jobs.domain import Cause, Job
from bdg_jobs.tenants import TenantPolicies, TenantPolicy
from tests.integration.audit_rig import AuditRig

pytestmark = pytest.mark.timeout(120)
HOUR = timedelta(hours=1)
OLD = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
RECENT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)  # 30 days back: 2026-11-05 12:00


async def _file(rig: AuditRig, tenant: str, ended: datetime) -> AuditFileWritten:
    """A job that ended at ``ended``, its file recorded five minutes later."""
    job = Job.request(uuid4(), tenant, Cause("user:ada", ended, user_id="ada"), goal="g")
    job.cancel(Cause("user:ada", ended + timedelta(seconds=1), user_id="ada"), reason="r")
    history = job.collect()
    await asyncio.to_thread(rig.store.append, history)
    rig.auditing.clock = lambda: ended + timedelta(minutes=5)
    written = await rig.auditing.write_file(job.job_id, history[-1].version)
    assert written is not None
    return written


async def _digest(rig: AuditRig, now: datetime) -> int:
    storage = rig.auditing.storage
    return await Digester(rig.store, storage, rig.database_url, "audit", HOUR, lambda: now).step()


def _retention(rig: AuditRig, tenant: str, now: datetime = NOW) -> AuditRetention:
    policies = TenantPolicies(tenants={tenant: TenantPolicy(retention_days=30)})
    records = RemovalRecords(rig.store, rig.auditing.storage, "audit", lambda: now)
    return AuditRetention(records, rig.database_url, policies, HOUR, lambda: now)


def _chain(rig: AuditRig, tenant: str) -> list[AuditDigestWritten | AuditObjectsRemoved]:
    history = rig.store.history(digest_chain_id(tenant))
    return [e for e in history if isinstance(e, AuditDigestWritten | AuditObjectsRemoved)]


def _faults(rig: AuditRig, tenant: str) -> dict[str, set[Fault]]:
    report = AuditReader(rig.objects, rig.database_url).verify(tenant)
    return {f.key: {x.fault for x in f.findings} for f in report.files if not f.ok}


async def _old_and_recent(rig: AuditRig, tenant: str) -> tuple[list[Removed], AuditFileWritten]:
    """Two old files and digests, one recent file and digest; the old ones."""
    old = [await _file(rig, tenant, OLD), await _file(rig, tenant, OLD + HOUR)]
    assert await _digest(rig, OLD + 3 * HOUR) == 2
    recent = await _file(rig, tenant, RECENT)
    assert await _digest(rig, RECENT + 2 * HOUR) == 1
    digests = _chain(rig, tenant)[:2]
    return [Removed(e.object_key, e.sha256) for e in [*old, *digests]], recent


async def test_old_files_and_digests_leave_under_a_signed_record_and_the_rest_verifies(
    audit_rig: AuditRig,
) -> None:
    rig, tenant = audit_rig, "r" + secrets.token_hex(5)
    other = "o" + secrets.token_hex(5)  # no policy: keeps everything
    removed, recent = await _old_and_recent(rig, tenant)
    old = [r.key for r in removed]
    kept_elsewhere = await _file(rig, other, OLD)

    assert await _retention(rig, tenant).step() == 4
    assert await _retention(rig, tenant).step() == 0  # again: nothing left to remove

    assert [k for k in old if rig.objects.get(k) is not None] == []
    assert rig.objects.get(recent.object_key) is not None
    assert rig.objects.get(kept_elsewhere.object_key) is not None
    record = _chain(rig, tenant)[-1]
    assert isinstance(record, AuditObjectsRemoved)
    assert (record.reason, record.removed) == (RemovalReason.retention, 4)
    body = json.loads(rig.objects.get(record.object_key) or b"{}")["digest"]
    assert sorted(r["key"] for r in body["removed"]) == sorted(old)
    assert body["detail"] == {"retention_days": 30, "before": "2026-11-05T12:00:00+00:00"}
    assert _faults(rig, tenant) == {}

    # The chain goes on through the record; periods it removed are not digested again.
    later = await _file(rig, tenant, NOW)
    assert await _digest(rig, NOW + 2 * HOUR) == 2  # this one's, and the other tenant's first
    last = _chain(rig, tenant)[-1]
    assert isinstance(last, AuditDigestWritten)
    listed = json.loads(rig.objects.get(last.object_key) or b"{}")["digest"]
    assert listed["previous"] == {
        "key": record.object_key,
        "signature_sha256": record.signature_sha256,
    }
    assert [f["key"] for f in listed["files"]] == [later.object_key]
    report = AuditReader(rig.objects, rig.database_url).verify(tenant)
    assert report.ok, report.as_json()
    assert {f.key for f in report.files} == {
        recent.object_key,
        later.object_key,
        record.object_key,
        last.object_key,
        _chain(rig, tenant)[2].object_key,  # the recent digest
    }

    # What retention did not remove is still guarded.
    rig.objects.delete(recent.object_key)
    assert _faults(rig, tenant) == {recent.object_key: {Fault.deleted_file}}


async def test_an_altered_or_deleted_record_vouches_for_nothing(audit_rig: AuditRig) -> None:
    rig, tenant = audit_rig, "r" + secrets.token_hex(5)
    removed, recent = await _old_and_recent(rig, tenant)
    old = [r.key for r in removed]
    assert await _retention(rig, tenant).step() == 4
    record = _chain(rig, tenant)[-1]
    stored = json.loads(rig.objects.get(record.object_key) or b"{}")

    # Re-signed, even, with the auditor's own key: the log holds the record's sha256.
    body = stored["digest"]
    body["removed"].append({"key": recent.object_key, "sha256": recent.sha256})
    rig.objects.put(record.object_key, sign_digest(body, rig.keyring.active()).content)
    rig.objects.delete(recent.object_key)
    faults = _faults(rig, tenant)
    assert faults[record.object_key] == {Fault.altered_digest}
    assert faults[recent.object_key] == {Fault.deleted_file}
    assert {k for k in old if "digests/" not in k} <= set(faults)  # nothing vouched for

    rig.objects.delete(record.object_key)
    faults = _faults(rig, tenant)
    assert faults[record.object_key] == {Fault.deleted_digest}
    assert set(old) <= set(faults)


async def test_a_pass_cut_short_after_its_record_is_finished_by_the_next(
    audit_rig: AuditRig,
) -> None:
    rig, tenant = audit_rig, "r" + secrets.token_hex(5)
    removed, _ = await _old_and_recent(rig, tenant)
    old = [r.key for r in removed]
    records = RemovalRecords(rig.store, rig.auditing.storage, "audit", lambda: NOW)
    cutoff = NOW - timedelta(days=30)
    # What a pass killed between its record and its deletes left behind:
    recorded = await records.record(
        tenant, RemovalReason.retention, cutoff, {"retention_days": 30}, removed, cutoff
    )
    assert recorded is not None
    assert all(rig.objects.get(k) is not None for k in old)

    assert await _retention(rig, tenant).step() == 0  # the period's record exists: no second

    assert [k for k in old if rig.objects.get(k) is not None] == []
    assert len([e for e in _chain(rig, tenant) if isinstance(e, AuditObjectsRemoved)]) == 1
    assert _faults(rig, tenant) == {}
