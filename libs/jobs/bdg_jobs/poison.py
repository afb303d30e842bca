"""Poison records: events a projection could not apply, kept in ``bdg_projection_poison``.

One record per (projection, originator): the first event of that job (or repository) the
projection failed on. While the record exists the projection skips the originator's later events
too (counted in ``held``): its row stays at the last version that applied, never a state the
write model never had. Other originators project on. ``retry`` (``bdg replay --retry-poisoned``)
rebuilds each poisoned originator from its whole history with the code as it is now and deletes
the records that apply; a full rebuild (``bdg replay``) starts them afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import class_row

from bdg_contracts.text import unstorable
from bdg_jobs.store import Recorded, Unreadable

TABLE = "bdg_projection_poison"
MAX_ERROR_CHARS = 2_000


@dataclass(frozen=True)
class Poisoned:
    projection: str
    originator: UUID
    position: int
    event_id: str
    event_name: str
    event_version: int
    error: str
    first_seen: datetime
    last_seen: datetime
    held: int


def describe(error: BaseException) -> str:
    """The error as one storable line: its type and message, cut to a bound."""
    text = f"{type(error).__name__}: {error}".strip()
    if unstorable(text) is not None:  # the message may quote the offending value
        text = text.encode("utf-8", "replace").decode().replace("\x00", "\\x00")
    return text[:MAX_ERROR_CHARS]


def held_originators(conn: psycopg.Connection[Any], projection: str) -> set[UUID]:
    rows = conn.execute(
        f"SELECT originator FROM {TABLE} WHERE projection = %s", (projection,)
    ).fetchall()
    return {row[0] for row in rows}


def record(
    conn: psycopg.Connection[Any],
    projection: str,
    recorded: Recorded | Unreadable,
    error: BaseException,
) -> None:
    if isinstance(recorded, Unreadable):  # its event id is inside what cannot be read
        spot = (recorded.originator, recorded.notification_id, "", recorded.topic, recorded.version)
    else:
        event = recorded.event
        spot = (event.job_id, recorded.notification_id, event.event_id, event.name, event.version)
    conn.execute(
        f"INSERT INTO {TABLE} (projection, originator, position, event_id, event_name, "
        "event_version, error) VALUES (%s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (projection, originator) DO NOTHING",
        (projection, *spot, describe(error)),
    )


def hold(conn: psycopg.Connection[Any], projection: str, counts: dict[UUID, int]) -> None:
    """Count later events of poisoned originators as skipped."""
    for originator, count in counts.items():
        conn.execute(
            f"UPDATE {TABLE} SET held = held + %s WHERE projection = %s AND originator = %s",
            (count, projection, originator),
        )


def still_failing(
    conn: psycopg.Connection[Any], projection: str, originator: UUID, error: BaseException
) -> None:
    conn.execute(
        f"UPDATE {TABLE} SET error = %s, last_seen = now() "
        "WHERE projection = %s AND originator = %s",
        (describe(error), projection, originator),
    )


def clear(conn: psycopg.Connection[Any], projection: str, originator: UUID | None = None) -> None:
    """Delete the projection's records (of one originator, or all of them)."""
    if originator is None:
        conn.execute(f"DELETE FROM {TABLE} WHERE projection = %s", (projection,))
    else:
        conn.execute(
            f"DELETE FROM {TABLE} WHERE projection = %s AND originator = %s",
            (projection, originator),
        )


def listed(conn: psycopg.Connection[Any], projection: str | None = None) -> list[Poisoned]:
    """The records, newest first (of one projection, or all)."""
    where = "WHERE projection = %s" if projection else ""
    with conn.cursor(row_factory=class_row(Poisoned)) as cur:
        cur.execute(
            f"SELECT projection, originator, position, event_id, event_name, event_version, "
            f"error, first_seen, last_seen, held FROM {TABLE} {where} "
            "ORDER BY first_seen DESC, position DESC",
            (projection,) if projection else (),
        )
        return cur.fetchall()
