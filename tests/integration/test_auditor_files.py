"""The auditor's use case on real PostgreSQL and real S3 (SeaweedFS): one whole file per ending."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import timedelta

import pytest

from bdg_audit.chain import signed_file
from bdg_audit.keys import Keyring, public_keys
from bdg_audit.layout import jwks_key
from bdg_audit.rows import rows_of
from bdg_audit.verify import verify_file
from bdg_contracts.audit_events import AuditFileWritten, audit_trail_id
from bdg_contracts.states import Step
from bdg_jobs.domain import Cause, Job
from tests.audit_history import T0, ended_job
from tests.integration.audit_rig import AuditRig

pytestmark = pytest.mark.timeout(90)


async def _save(rig: AuditRig, events: list) -> None:  # type: ignore[type-arg]
    await asyncio.to_thread(rig.store.append, events)


async def test_an_ended_job_gets_one_signed_file_partitioned_by_tenant_and_date(
    audit_rig: AuditRig,
) -> None:
    rig = audit_rig
    job = ended_job(tenant="acme")
    history = job.collect()
    await _save(rig, history)

    written = await rig.auditing.write_file(job.job_id, history[-1].version)

    assert written is not None
    assert written.object_key == (
        f"audit/acme/2026/12/05/{job.job_id}/audit-v{history[-1].version:06d}.csv"
    )
    content = rig.objects.get(written.object_key)
    assert content is not None
    assert hashlib.sha256(content).hexdigest() == written.sha256
    jwks = json.loads(rig.objects.get(jwks_key("audit")) or b"{}")
    assert verify_file(content, str(job.job_id), public_keys(jwks)) == []
    assert written.rows == len(rows_of(history)) + 1  # and the seal


async def test_writing_again_records_nothing_new(audit_rig: AuditRig) -> None:
    rig = audit_rig
    job = ended_job()
    history = job.collect()
    await _save(rig, history)
    first = await rig.auditing.write_file(job.job_id, history[-1].version)
    again = await asyncio.gather(
        *(rig.auditing.write_file(job.job_id, history[-1].version) for _ in range(3))
    )
    trail = rig.store.history(audit_trail_id(job.job_id))
    assert [type(e) for e in trail] == [AuditFileWritten]
    assert {a.event_id for a in again if a} == {first.event_id if first else ""}


async def test_a_job_still_running_gets_no_file(audit_rig: AuditRig) -> None:
    rig = audit_rig
    job = ended_job()
    history = job.collect()
    await _save(rig, history)
    assert await rig.auditing.write_file(job.job_id, history[-2].version) is None
    assert rig.store.history(audit_trail_id(job.job_id)) == []


async def test_a_file_stored_before_a_crash_is_recorded_as_it_is(
    audit_rig: AuditRig, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """The upload finished, the record did not (kill -9 between them); meanwhile the key
    rotated. The retry records the stored object and never writes a second, different one."""
    rig = audit_rig
    job = ended_job()
    history = job.collect()
    await _save(rig, history)
    end = history[-1]
    old_key = Keyring(tmp_path / "before-crash").ensure(T0, timedelta(days=1))
    before = signed_file(rows_of(history), str(job.job_id), end.version, "cancelled", old_key)
    key = f"audit/acme/2026/12/05/{job.job_id}/audit-v{end.version:06d}.csv"
    rig.objects.ensure_bucket()
    rig.objects.put(key, before.content)

    written = await rig.auditing.write_file(job.job_id, end.version)

    assert written is not None
    assert written.sha256 == before.sha256
    assert written.kids == (old_key.kid,)
    assert rig.objects.get(key) == before.content


async def test_each_end_of_a_job_gets_its_own_file(audit_rig: AuditRig) -> None:
    """A job that failed, was retried and then cancelled: two ends, two files."""
    rig = audit_rig
    job = ended_job()
    events = job.collect()[:2]  # requested, a model call: still planning
    job = Job.replay(events)
    cause = Cause(producer="planner", occurred_at=T0 + timedelta(hours=1), user_id="ada")
    job.fail_step(cause, Step.planning, "planner", "boom", failed_event_version=1)
    failed = job.collect()
    job.retry_step(cause)
    job.cancel(cause, reason="enough")
    later = job.collect()
    await _save(rig, [*events, *failed, *later])

    one = await rig.auditing.write_file(job.job_id, failed[-1].version)
    two = await rig.auditing.write_file(job.job_id, later[-1].version)

    assert one is not None
    assert two is not None
    assert one.object_key != two.object_key
    assert two.rows == one.rows + 2  # job.retried, job.cancelled
    trail = rig.store.history(audit_trail_id(job.job_id))
    assert [e.through_version for e in trail if isinstance(e, AuditFileWritten)] == [
        failed[-1].version,
        later[-1].version,
    ]
