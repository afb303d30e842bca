"""What the log says was written: the ``AuditFileWritten`` records of a tenant (PostgreSQL).

The log is the reference a stored file is checked against: its key, its sha256, its job. A file
deleted or replaced in the bucket cannot change what the log recorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg

_RECORDS = """
    SELECT state FROM bdg_job_events
    WHERE topic = 'AuditFileWritten'
      AND convert_from(state, 'UTF8')::jsonb ->> 'tenant_id' = %s
    ORDER BY notification_id
"""


@dataclass(frozen=True)
class Recorded:
    object_key: str
    sha256: str
    job_id: str
    through_version: int


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


def recorded_files(database_url: str, tenant_id: str) -> list[Recorded]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows: list[Any] = conn.execute(_RECORDS, (tenant_id,)).fetchall()
    files = []
    for (state,) in rows:
        data = json.loads(bytes(state))
        files.append(
            Recorded(
                data["object_key"],
                data["sha256"],
                data["audited_job_id"],
                int(data["through_version"]),
            )
        )
    return files
