"""What the log says was written: the ``AuditFileWritten`` records of a tenant (PostgreSQL).

The log is the reference a stored file is checked against: its key, its sha256, its job. A file
deleted or replaced in the bucket cannot change what the log recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

_RECORDS = """
    SELECT state FROM bdg_job_events
    WHERE topic = %s AND convert_from(state, 'UTF8')::jsonb ->> 'tenant_id' = %s
    ORDER BY notification_id
"""
_CHAIN = """
    SELECT topic, state FROM bdg_job_events
    WHERE topic = ANY(%s) AND convert_from(state, 'UTF8')::jsonb ->> 'tenant_id' = %s
    ORDER BY notification_id
"""
_ALL_RECORDS = """
    SELECT state FROM bdg_job_events WHERE topic = 'AuditFileWritten' ORDER BY notification_id
"""


@dataclass(frozen=True)
class Recorded:
    object_key: str
    sha256: str
    job_id: str
    through_version: int
    tenant_id: str
    recorded_at: datetime
    started_at: datetime | None = None


@dataclass(frozen=True)
class RecordedDigest:
    object_key: str
    sha256: str
    period_start: datetime
    period_end: datetime
    signature_sha256: str


@dataclass(frozen=True)
class RecordedRemoval:
    object_key: str
    sha256: str
    signature_sha256: str
    reason: str


ChainEntry = RecordedDigest | RecordedRemoval


def day_of_key(key: str) -> date:
    """The ending date in ``<prefix>/<tenant>/<yyyy>/<mm>/<dd>/<job>/<file>``."""
    yyyy, mm, dd = key.split("/")[-5:-2]
    return date(int(yyyy), int(mm), int(dd))


def in_range(key: str, start: date | None, end: date | None) -> bool:
    try:
        day = day_of_key(key)
    except (ValueError, IndexError):
        return True  # not laid out by the auditor: always worth reporting
    return (start is None or day >= start) and (end is None or day <= end)


def _file(data: dict[str, Any]) -> Recorded:
    return Recorded(
        data["object_key"],
        data["sha256"],
        data["audited_job_id"],
        int(data["through_version"]),
        data["tenant_id"],
        datetime.fromisoformat(data["occurred_at"]),
        datetime.fromisoformat(data["started_at"]) if data.get("started_at") else None,
    )


def _states(database_url: str, query: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
    import psycopg  # here: an export streaming files it was given needs no database driver

    with psycopg.connect(database_url, autocommit=True) as conn:
        rows: list[Any] = conn.execute(query, params).fetchall()
    return [json.loads(bytes(r[0])) for r in rows]


def recorded_files(database_url: str, tenant_id: str) -> list[Recorded]:
    return [_file(d) for d in _states(database_url, _RECORDS, ("AuditFileWritten", tenant_id))]


def all_recorded_files(database_url: str) -> list[Recorded]:
    return [_file(d) for d in _states(database_url, _ALL_RECORDS, ())]


def _digest(d: dict[str, Any]) -> RecordedDigest:
    return RecordedDigest(
        d["object_key"],
        d["sha256"],
        datetime.fromisoformat(d["period_start"]),
        datetime.fromisoformat(d["period_end"]),
        d["signature_sha256"],
    )


def recorded_digests(database_url: str, tenant_id: str) -> list[RecordedDigest]:
    return [_digest(d) for d in _states(database_url, _RECORDS, ("AuditDigestWritten", tenant_id))]


def _removal(d: dict[str, Any]) -> RecordedRemoval:
    return RecordedRemoval(d["object_key"], d["sha256"], d["signature_sha256"], d["reason"])


_CHAIN_ENTRIES: dict[str, Callable[[dict[str, Any]], ChainEntry]] = {
    "AuditDigestWritten": _digest,
    "AuditObjectsRemoved": _removal,
}


def recorded_chain(database_url: str, tenant_id: str) -> list[ChainEntry]:
    """The tenant's digests and removal records, in the order the log has them."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        rows: list[Any] = conn.execute(_CHAIN, (list(_CHAIN_ENTRIES), tenant_id)).fetchall()
    return [_CHAIN_ENTRIES[topic](json.loads(bytes(state))) for topic, state in rows]
