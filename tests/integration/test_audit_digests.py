"""Signed digest files on real PostgreSQL and S3 (SeaweedFS): one per tenant and period,
chained, written once; an altered or deleted digest, or a file it leaves out, is named."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from bdg_audit.digests import sign_digest
from bdg_audit.reader import AuditReader
from bdg_audit.verify import Fault
from bdg_auditor.digester import Digester
from bdg_contracts.audit_events import AuditDigestWritten, AuditFileWritten, digest_chain_id
from tests.audit_history import ended_job
from tests.integration.audit_rig import AuditRig

pytestmark = pytest.mark.timeout(120)
HOUR = timedelta(hours=1)
NOON = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


async def _written_at(rig: AuditRig, when: datetime, tenant: str = "acme") -> AuditFileWritten:
    rig.auditing.clock = lambda: when  # the moment the file is recorded
    job = ended_job(tenant=tenant)
    history = job.collect()
    await asyncio.to_thread(rig.store.append, history)
    written = await rig.auditing.write_file(job.job_id, history[-1].version)
    assert written is not None
    return written


def _digester(rig: AuditRig, now: datetime) -> Digester:
    return Digester(rig.store, rig.auditing.storage, rig.database_url, "audit", HOUR, lambda: now)


def _chain(rig: AuditRig, tenant: str = "acme") -> list[AuditDigestWritten]:
    return [
        e for e in rig.store.history(digest_chain_id(tenant)) if isinstance(e, AuditDigestWritten)
    ]


async def test_one_chained_digest_per_tenant_and_closed_period(audit_rig: AuditRig) -> None:
    rig = audit_rig
    a1 = await _written_at(rig, NOON + timedelta(minutes=5))
    a2 = await _written_at(rig, NOON + timedelta(minutes=50))
    b1 = await _written_at(rig, NOON + HOUR + timedelta(minutes=1))
    other = await _written_at(rig, NOON + timedelta(minutes=7), tenant="globex")
    open_period = await _written_at(rig, NOON + 2 * HOUR + timedelta(minutes=1))

    assert await _digester(rig, NOON + 2 * HOUR + timedelta(minutes=10)).step() == 3
    assert await _digester(rig, NOON + 2 * HOUR + timedelta(minutes=20)).step() == 0

    chain = _chain(rig)
    assert [(d.period_start, d.files) for d in chain] == [(NOON, 2), (NOON + HOUR, 1)]
    first = json.loads(rig.objects.get(chain[0].object_key) or b"{}")["digest"]
    second = json.loads(rig.objects.get(chain[1].object_key) or b"{}")["digest"]
    assert {f["key"] for f in first["files"]} == {a1.object_key, a2.object_key}
    assert first["previous"] is None
    assert second["previous"] == {
        "key": chain[0].object_key,
        "signature_sha256": chain[0].signature_sha256,
    }
    assert [f["key"] for f in second["files"]] == [b1.object_key]
    assert [d.files for d in _chain(rig, "globex")] == [1]
    assert other.object_key not in json.dumps([first, second])
    assert open_period.object_key not in json.dumps([first, second])
    report = AuditReader(rig.objects, rig.database_url).verify("acme")
    assert report.ok, report.as_json()
    assert len(report.files) == 6  # four files (one not digested yet) and two digests


async def _two_digests(rig: AuditRig) -> list[AuditDigestWritten]:
    await _written_at(rig, NOON + timedelta(minutes=5))
    await _written_at(rig, NOON + HOUR + timedelta(minutes=5))
    await _digester(rig, NOON + 2 * HOUR + timedelta(minutes=1)).step()
    return _chain(rig)


async def test_an_altered_digest_is_named(audit_rig: AuditRig) -> None:
    rig = audit_rig
    chain = await _two_digests(rig)
    stored = json.loads(rig.objects.get(chain[0].object_key) or b"{}")
    stored["digest"]["files"][0]["sha256"] = "0" * 64  # hide a replaced file
    rig.objects.put(chain[0].object_key, json.dumps(stored).encode())

    report = AuditReader(rig.objects, rig.database_url).verify("acme")

    bad = {f.key: {x.fault for x in f.findings} for f in report.files if not f.ok}
    assert bad == {chain[0].object_key: {Fault.altered_digest}}


async def test_a_deleted_digest_is_named(audit_rig: AuditRig) -> None:
    rig = audit_rig
    chain = await _two_digests(rig)
    rig.objects.delete(chain[1].object_key)

    report = AuditReader(rig.objects, rig.database_url).verify("acme")

    bad = {f.key: {x.fault for x in f.findings} for f in report.files if not f.ok}
    assert bad == {chain[1].object_key: {Fault.deleted_digest}}


async def test_a_digest_rewritten_to_leave_a_file_out_is_named(audit_rig: AuditRig) -> None:
    """Re-signed with our own key, even: the log says which files the period recorded."""
    rig = audit_rig
    chain = await _two_digests(rig)
    stored = json.loads(rig.objects.get(chain[1].object_key) or b"{}")
    body = {**stored["digest"], "files": []}
    rig.objects.put(chain[1].object_key, sign_digest(body, rig.keyring.active()).content)

    report = AuditReader(rig.objects, rig.database_url).verify("acme")

    bad = {f.key: {x.detail for x in f.findings} for f in report.files if not f.ok}
    assert list(bad) == [chain[1].object_key]
    assert any("leaves out" in d for d in bad[chain[1].object_key])
