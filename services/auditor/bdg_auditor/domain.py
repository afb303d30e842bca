"""The auditor's pure decisions: which job event ends a job, and the audit trail aggregate.

A job can end more than once (a failed job retried, a done job rolled back): each end gets its
own file of the whole history up to that event, recorded once in the job's trail.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from bdg_contracts.audit_events import AuditFileWritten, audit_trail_id
from bdg_contracts.base import Event
from bdg_contracts.privacy_events import PersonalDataErased
from bdg_contracts.states import JobState
from bdg_jobs.domain import Job

ENDED = frozenset({JobState.done, JobState.failed, JobState.cancelled})


ERASED_STATE = "erased"  # an erasure's history: one event, audited like an ended job


def ended_state(history: Sequence[Event]) -> str | None:
    """The state the job ended in at the last event of ``history``, or None if it goes on."""
    if isinstance(history[0], PersonalDataErased):
        return ERASED_STATE
    state = Job.replay(history).state
    return state.value if state in ENDED else None


@dataclass(frozen=True)
class FileFacts:
    """What was written, to be recorded: the outcome of the (nondeterministic) upload."""

    object_key: str
    sha256: str
    rows: int
    size: int
    kids: tuple[str, ...]
    started_at: datetime | None = None


@dataclass
class AuditTrail:
    job_id: UUID
    tenant_id: str
    version: int = 0
    files: dict[int, AuditFileWritten] = field(default_factory=dict)
    pending: list[Event] = field(default_factory=list)

    @classmethod
    def replay(cls, job_id: UUID, tenant_id: str, history: Iterable[Event]) -> AuditTrail:
        trail = cls(job_id, tenant_id)
        for event in history:
            trail.apply(event)
        return trail

    def apply(self, event: Event) -> None:
        if event.version != self.version + 1:
            raise ValueError(f"event version {event.version} does not follow {self.version}")
        self.version = event.version
        if isinstance(event, AuditFileWritten):
            self.files[event.through_version] = event

    def file_for(self, through_version: int) -> AuditFileWritten | None:
        return self.files.get(through_version)

    def record_file(
        self, through_version: int, facts: FileFacts, occurred_at: datetime, producer: str
    ) -> AuditFileWritten:
        event = AuditFileWritten(
            job_id=audit_trail_id(self.job_id),
            audited_job_id=self.job_id,
            version=self.version + 1,
            correlation_id=str(self.job_id),
            tenant_id=self.tenant_id,
            producer=producer,
            occurred_at=occurred_at,
            through_version=through_version,
            object_key=facts.object_key,
            sha256=facts.sha256,
            rows=facts.rows,
            size=facts.size,
            kids=facts.kids,
            started_at=facts.started_at,
        )
        self.apply(event)
        self.pending.append(event)
        return event
