"""The audit trail of one job: the signed files the auditor wrote for it. Events of the
``audit`` aggregate, whose id is derived from the job's (``audit_trail_id``), so the same job
always has the same trail and two auditors recording the same file collide on its version.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID, uuid5

from pydantic import Field

from bdg_contracts.base import Event

# Fixed namespace for trail ids: changing it would orphan every recorded trail.
AUDIT_NAMESPACE = UUID("6f1c3a52-5d0e-4b8e-9a57-4a0f1e2c9b11")


def audit_trail_id(job_id: UUID) -> UUID:
    return uuid5(AUDIT_NAMESPACE, f"audit-trail:{job_id}")


class AuditEvent(Event):
    """An event of a job's audit trail; ``job_id`` is the trail's id, ``audited_job_id`` the
    job's."""

    aggregate: ClassVar[str] = "audit"

    audited_job_id: UUID


class AuditFileWritten(AuditEvent):
    """A whole signed ``audit.csv`` of the job's events up to ``through_version`` is stored
    under ``object_key``; ``sha256`` is the hash of its bytes (a replaced file is detected)."""

    through_version: int = Field(ge=1, description="the job event that ended the job")
    object_key: str = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    rows: int = Field(ge=1)
    size: int = Field(ge=1, description="bytes")
    kids: tuple[str, ...] = Field(description="keys that signed the rows")


ALL_AUDIT_EVENTS: tuple[type[Event], ...] = (AuditFileWritten,)
