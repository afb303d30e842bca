"""Events stored before sealing hold personal values in plain: erasing their person rewrites
those values to ``[erased]`` in place. The one edit of the log there is; nothing else in the
row changes (version, topic, notification id), so replays and readers go on as before.

Likewise what someone else decided in the person's jobs before job fields were sealed with the
owner's key (a colleague's plan edit sealed with the colleague's key): those fields are the
erased owner's, so they are rewritten ``[erased]``; who decided stays, theirs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import psycopg

from bdg_contracts.base import Event, UnknownEventError
from bdg_jobs.personal.cipher import ERASED, is_sealed, key_id_of
from bdg_jobs.personal.fields import personal_names, whose


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


def _job_fields_under(topic: str, state: dict[str, Any]) -> dict[str, UUID]:
    """The event's sealed job fields (``fields.whose``) and the key each is sealed with."""
    try:
        cls = Event.named(topic)
    except UnknownEventError:
        return {}
    # The decider's fields are always whose()'s first part here: sealed, they name no subject.
    about_job = whose(cls, personal_names(cls, state))[1]
    return {n: key_id_of(state[n]) for n in about_job if is_sealed(state[n])}


def redact_foreign_job_fields(conn: psycopg.Connection[Any], jobs: Sequence[UUID]) -> int:
    """In the jobs of a person whose keys are destroyed, job fields sealed with a key still
    live (someone else's) are rewritten ``[erased]``. Returns how many events changed."""
    rows = conn.execute(
        "SELECT notification_id, topic, state FROM bdg_job_events WHERE originator_id = ANY(%s)",
        (list(jobs),),
    ).fetchall()
    found: list[tuple[int, dict[str, Any], dict[str, UUID]]] = []
    for notification_id, topic, state in rows:
        if b'"$sealed"' not in bytes(state):
            continue
        data = json.loads(bytes(state))
        sealed = _job_fields_under(topic, data)
        if sealed:
            found.append((notification_id, data, sealed))
    wanted = list({k for _, _, sealed in found for k in sealed.values()})
    live = {
        r[0]
        for r in conn.execute(
            "SELECT key_id FROM bdg_subject_keys WHERE key_id = ANY(%s) AND wrapped IS NOT NULL",
            (wanted,),
        ).fetchall()
    }
    changed = 0
    for notification_id, data, sealed in found:
        foreign = [n for n, key_id in sealed.items() if key_id in live]
        if not foreign:
            continue
        new = {**data, **dict.fromkeys(foreign, ERASED)}
        conn.execute(
            "UPDATE bdg_job_events SET state = %s WHERE notification_id = %s",
            (json.dumps(new, separators=(",", ":")).encode(), notification_id),
        )
        changed += 1
    return changed
