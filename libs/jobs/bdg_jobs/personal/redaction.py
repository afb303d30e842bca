"""Events stored before sealing hold personal values in plain: erasing their person rewrites
those values to ``[erased]`` in place. The one edit of the log there is; nothing else in the
row changes (version, topic, notification id), so replays and readers go on as before."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import psycopg

from bdg_contracts.base import Event, UnknownEventError
from bdg_jobs.personal.cipher import ERASED, is_sealed
from bdg_jobs.personal.fields import personal_names


def redacted(topic: str, state: dict[str, Any]) -> dict[str, Any] | None:
    """``state`` with its plain personal values erased, or None when it has none."""
    try:
        cls = Event.named(topic)
    except UnknownEventError:
        return None
    names = [n for n in personal_names(cls, state) if not is_sealed(state[n])]
    names = [n for n in names if state[n] != ERASED]
    if not names:
        return None
    return {**state, **dict.fromkeys(names, ERASED)}


def redact_plain_events(conn: psycopg.Connection[Any], jobs: Sequence[UUID]) -> int:
    rows = conn.execute(
        "SELECT notification_id, topic, state FROM bdg_job_events WHERE originator_id = ANY(%s)",
        (list(jobs),),
    ).fetchall()
    changed = 0
    for notification_id, topic, state in rows:
        new = redacted(topic, json.loads(bytes(state)))
        if new is None:
            continue
        conn.execute(
            "UPDATE bdg_job_events SET state = %s WHERE notification_id = %s",
            (json.dumps(new, separators=(",", ":")).encode(), notification_id),
        )
        changed += 1
    return changed
