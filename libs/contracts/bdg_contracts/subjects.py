"""The only place NATS subjects and stream names are spelled."""

from __future__ import annotations

from uuid import UUID

from bdg_contracts.base import Event

EVENTS_STREAM = "BDG_EVENTS"
DLQ_STREAM = "BDG_DLQ"
EVENT_PREFIX = "bdg.evt"
DLQ_PREFIX = "bdg.dlq"


def event_subject(tenant_id: str, job_id: UUID, event_name: str) -> str:
    return f"{EVENT_PREFIX}.{tenant_id}.{job_id}.{event_name}"


def subject_of(event: Event) -> str:
    return event_subject(event.tenant_id, event.job_id, event.name)


def events_named(event_cls: type[Event]) -> str:
    """Every tenant's and job's events of one class."""
    return f"{EVENT_PREFIX}.*.*.{event_cls.__name__}"


def job_events(tenant_id: str, job_id: UUID) -> str:
    return f"{EVENT_PREFIX}.{tenant_id}.{job_id}.*"


def all_events() -> str:
    return f"{EVENT_PREFIX}.>"


def dlq_subject(service: str) -> str:
    return f"{DLQ_PREFIX}.{service}"


def all_dlq() -> str:
    return f"{DLQ_PREFIX}.>"


def msg_id(event: Event) -> str:
    """JetStream drops a second publish with the same id inside the duplicate window."""
    return f"{event.job_id}:{event.version}"
