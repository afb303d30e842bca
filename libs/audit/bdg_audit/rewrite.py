"""Rewriting an audit file written before pseudonyms (people in plain) under ``Who``: pure.

The rows keep what they say (action, cost, time, everything not personal); people become
what ``Who`` makes of them (the file's userIds, ``by``, approvers and deniers) and what the
job's owner typed (a goal, a repository, a reason denied or rolled back for) its keyed digest,
as ``bdg_audit.rows`` writes them today. The caller signs the rows again into a new file.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from bdg_audit.layout import COLUMNS, SEAL_ACTION
from bdg_audit.rows import USER_PRODUCER, AuditRow, Who

PEOPLE = ("approved_by", "denied_by", "requested_by")
SELF = "self"  # bdg_contracts.privacy_events.SELF: a person erasing themself, no one's id
TYPED: dict[str, tuple[str, ...]] = {
    "job.requested": ("goal", "repo"),
    "tool.denied": ("why",),
    "rollback.requested": ("why",),
}


@dataclass(frozen=True)
class ParsedFile:
    job_id: str
    rows: list[AuditRow]  # without the seal
    through_version: int
    state: str


def parse_file(content: bytes) -> ParsedFile | None:
    """The rows and seal of a stored file; None when it is not a whole sealed file."""
    records = list(csv.reader(io.StringIO(content.decode())))
    if not records or tuple(records[0]) != COLUMNS or len(records) < 2:
        return None
    rows = []
    for cells in records[1:]:
        if len(cells) != len(COLUMNS):
            return None
        job, user, action, params, cost, timestamp, _ = cells
        rows.append(AuditRow(job, user, action, json.loads(params), cost, timestamp))
    seal = rows.pop()
    if seal.action != SEAL_ACTION:
        return None
    return ParsedFile(seal.job_id, rows, int(seal.params["through_version"]), seal.params["state"])


def _user_of_by(by: Any) -> str | None:
    if isinstance(by, str) and by.startswith(USER_PRODUCER):
        return by[len(USER_PRODUCER) :]
    return None


def people_in(rows: list[AuditRow]) -> set[str]:
    """Every id a file's rows name a person by (as written: plain in an old file)."""
    found = {r.user_id for r in rows if r.user_id}
    for r in rows:
        found |= {r.params[k] for k in PEOPLE if isinstance(r.params.get(k), str)}
        if (user := _user_of_by(r.params.get("by"))) is not None:
            found.add(user)
    return found - {SELF}


def _params(action: str, params: dict[str, Any], who: Who) -> dict[str, Any]:
    out = dict(params)
    for name in PEOPLE:
        if isinstance(out.get(name), str) and out[name] != SELF:
            out[name] = who.user(out[name])
    if (user := _user_of_by(out.get("by"))) is not None:
        out["by"] = USER_PRODUCER + who.user(user)
    for name in TYPED.get(action, ()):
        if isinstance(out.get(name), str):  # a digest already: as it is
            out[name] = who.text(out[name])
    return out


def rows_under(rows: list[AuditRow], who: Who) -> list[AuditRow]:
    return [
        AuditRow(
            r.job_id,
            who.user(r.user_id) if r.user_id else "",
            r.action,
            _params(r.action, r.params, who),
            r.cost,
            r.timestamp,
        )
        for r in rows
    ]
