"""The only place NATS subjects and stream names are spelled.

An installation may set a namespace (``BDG_NAMESPACE``): its streams and subjects are then its
own (``bdg_<ns>.evt...`` in ``BDG_EVENTS_<NS>``), so several installations, or test runs, can
share one NATS server. The composition root sets it once at start with ``use_namespace``.
"""

from __future__ import annotations

import re
from uuid import UUID

from bdg_contracts.base import Event

_NAMESPACE = re.compile(r"^[a-z0-9]{0,32}$")
_root = "bdg"


def use_namespace(namespace: str) -> None:
    global _root
    if not _NAMESPACE.fullmatch(namespace):
        raise ValueError(f"namespace {namespace!r} must match {_NAMESPACE.pattern}")
    _root = f"bdg_{namespace}" if namespace else "bdg"


def events_stream() -> str:
    return "BDG_EVENTS" if _root == "bdg" else f"BDG_EVENTS_{_root[4:].upper()}"


def dlq_stream() -> str:
    return "BDG_DLQ" if _root == "bdg" else f"BDG_DLQ_{_root[4:].upper()}"


def _evt() -> str:
    return f"{_root}.evt"


def _dlq() -> str:
    return f"{_root}.dlq"


def event_subject(tenant_id: str, job_id: UUID, event_name: str) -> str:
    return f"{_evt()}.{tenant_id}.{job_id}.{event_name}"


def subject_of(event: Event) -> str:
    return event_subject(event.tenant_id, event.job_id, event.name)


def events_named(event_cls: type[Event]) -> str:
    """Every tenant's and job's events of one class."""
    return f"{_evt()}.*.*.{event_cls.__name__}"


def job_events(tenant_id: str, job_id: UUID) -> str:
    return f"{_evt()}.{tenant_id}.{job_id}.*"


def all_events() -> str:
    return f"{_evt()}.>"


def dlq_subject(service: str) -> str:
    return f"{_dlq()}.{service}"


def all_dlq() -> str:
    return f"{_dlq()}.>"


def msg_id(event: Event) -> str:
    """JetStream drops a second publish with the same id inside the duplicate window."""
    return f"{event.job_id}:{event.version}"


def tools_discovery() -> str:
    """Request/reply: every service answers with the tools it offers (``ToolsAnnounced``)."""
    return f"{_root}.tools.discover"


def tool_invocation(service: str) -> str:
    """Request/reply: run one of ``service``'s announced tools (``InvokeTool``)."""
    return f"{_root}.tools.call.{service}"


def code_search() -> str:
    """Request/reply: the indexer answers ``SearchCode`` with ``CodeSearched``."""
    return f"{_root}.index.search"


def site_follow() -> str:
    """Request/reply: a deployer answers ``FollowSite`` with ``SiteFollowed`` once the edge
    serves what the site's events say."""
    return f"{_root}.sites.follow"


def job_progress(tenant_id: str, job_id: UUID) -> str:
    """Core NATS, not in the events stream: a job's progress reports (bdg_contracts.progress)."""
    return f"{_root}.progress.{tenant_id}.{job_id}"
