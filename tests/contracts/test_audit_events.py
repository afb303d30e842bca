"""Audit events as stored: a recorded ``AuditFileWritten`` and ``AuditDigestWritten`` (state as
the event store keeps it) still load through the current models."""

from __future__ import annotations

import json
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from bdg_contracts.audit_events import (
    AuditDigestWritten,
    AuditFileWritten,
    audit_trail_id,
    digest_chain_id,
)
from bdg_jobs.mapper import to_event

pytestmark = pytest.mark.timeout(10)
JOB = UUID("0b6f3a52-1d0e-4b8e-9a57-4a0f1e2c9b11")

FILE_V1 = {
    "audited_job_id": str(JOB),
    "event_id": "01JEXAMPLE0000000000000000",
    "causation_id": None,
    "correlation_id": str(JOB),
    "tenant_id": "acme",
    "user_id": None,
    "producer": "auditor",
    "occurred_at": "2026-12-05T08:00:07+00:00",
    "schema_version": 1,
    "traceparent": None,
    "through_version": 6,
    "object_key": f"audit/acme/2026/12/05/{JOB}/audit-v000006.csv",
    "sha256": "a" * 64,
    "rows": 7,
    "size": 4096,
    "kids": ["20261205T080000000000Z-1a2b3c4d"],
}
DIGEST_V1 = {
    "event_id": "01JEXAMPLE0000000000000001",
    "causation_id": None,
    "correlation_id": str(digest_chain_id("acme")),
    "tenant_id": "acme",
    "user_id": None,
    "producer": "auditor",
    "occurred_at": "2026-12-05T09:00:31+00:00",
    "schema_version": 1,
    "traceparent": None,
    "period_start": "2026-12-05T08:00:00+00:00",
    "period_end": "2026-12-05T09:00:00+00:00",
    "object_key": "audit/acme/digests/2026/12/05/080000-digest.json",
    "sha256": "b" * 64,
    "files": 1,
    "kid": "20261205T080000000000Z-1a2b3c4d",
    "signature_sha256": "c" * 64,
}


def _stored(originator: UUID, topic: str, state: dict[str, object]) -> StoredEvent:
    return StoredEvent(originator, 1, topic, json.dumps(state).encode())


def test_a_recorded_file_event_loads() -> None:
    event = to_event(_stored(audit_trail_id(JOB), "AuditFileWritten", FILE_V1))
    assert isinstance(event, AuditFileWritten)
    assert event.audited_job_id == JOB
    assert event.started_at is None  # added later, optional
    assert type(event).aggregate == "audit"


def test_a_recorded_digest_event_loads() -> None:
    event = to_event(_stored(digest_chain_id("acme"), "AuditDigestWritten", DIGEST_V1))
    assert isinstance(event, AuditDigestWritten)
    assert event.files == 1
