"""The audit trail of one job: the signed files the auditor wrote for it. Events of the
``audit`` aggregate, whose id is derived from the job's (``audit_trail_id``), so the same job
always has the same trail and two auditors recording the same file collide on its version.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
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
    started_at: datetime | None = Field(
        default=None, description="when the job was requested: exports pick files by it"
    )


def digest_chain_id(tenant_id: str) -> UUID:
    """The aggregate of one tenant's chain of digest files."""
    return uuid5(AUDIT_NAMESPACE, f"audit-digests:{tenant_id}")


class AuditDigestWritten(Event):
    """A signed digest of the tenant's audit files recorded in ``[period_start, period_end)``
    is stored under ``object_key``; it names the previous digest, so digests form a chain (as
    CloudTrail's log file integrity validation does). ``job_id`` is the tenant's chain id."""

    aggregate: ClassVar[str] = "audit"

    period_start: datetime
    period_end: datetime
    object_key: str = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    files: int = Field(ge=0)
    kid: str
    signature_sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$", description="what the next digest names as its previous"
    )


class RemovalReason(StrEnum):
    retention = "retention"  # past the tenant's retention_days
    erasure = "erasure"  # a file naming an erased person in plain, rewritten under pseudonyms


class AuditObjectsRemoved(Event):
    """A signed removal record is stored under ``object_key``: it lists audit files and digests
    taken out of the bucket (their keys and sha256, and what replaced each, if anything) and
    why, and names the chain's previous entry, so the chain of digests goes on through it and
    what remains still verifies. In the tenant's digest chain (``job_id`` is its id)."""

    aggregate: ClassVar[str] = "audit"

    reason: RemovalReason
    object_key: str = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    removed: int = Field(ge=0, description="objects the record lists as removed")
    kid: str
    signature_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    covers_until: datetime | None = Field(
        default=None, description="retention: digest periods before this are removed"
    )
    erasure_id: UUID | None = Field(
        default=None, description="erasure: the PersonalDataErased whose files were rewritten"
    )


ALL_AUDIT_EVENTS: tuple[type[Event], ...] = (
    AuditFileWritten,
    AuditDigestWritten,
    AuditObjectsRemoved,
)
