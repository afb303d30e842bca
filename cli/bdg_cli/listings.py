"""The listings (`job list`, `dlq list`, `index status`): their columns, one row per record,
and the same records for ``--json`` (stable keys, full values). Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

if TYPE_CHECKING:
    from bdg_runtime.dlq import DeadLetter

MARKUP_ONLY = ("```", "---", "***", "___", "|---", "| ---")


def first_meaningful_line(text: str, width: int = 70) -> str:
    """The first line that says something: not blank, not a markdown heading, fence or rule
    (``## Test analysis`` says what follows, not what happened); a heading when that is all."""
    lines = [s.strip() for s in text.splitlines() if s.strip()]
    said = [s for s in lines if not s.startswith("#") and not s.startswith(MARKUP_ONLY)]
    line = said[0] if said else (lines[0].lstrip("#").strip() if lines else "")
    line = line.removeprefix("- ").removeprefix("* ").replace("**", "")
    return line if len(line) <= width else line[: width - 1] + "…"


def _minute(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


JOB_COLUMNS = ("JOB", "STATE", "COST", "UPDATED", "GOAL")


def job_rows(rows: Iterable[Sequence[Any]]) -> list[list[str]]:
    """Rows of (jobId, state, goal, user, costUSD, updatedAt, version), as listed: what fits
    beside a whole job id on 80 columns (user and version are in ``--json`` and ``job show``)."""
    return [
        [
            str(job_id),
            str(state),
            f"${cost or 0:.2f}",
            updated.strftime("%m-%d %H:%M") if updated else "-",
            first_meaningful_line(goal or "", 200),
        ]
        for job_id, state, goal, _user, cost, updated, _version in rows
    ]


def job_records(rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """The same rows for scripts (``--json``): stable keys, full values."""
    return [
        {
            "job_id": str(job_id),
            "state": str(state),
            "goal": goal or "",
            "user": user,
            "cost_usd": float(cost or 0),
            "updated_at": updated.isoformat() if updated else None,
            "version": int(version or 0),
        }
        for job_id, state, goal, user, cost, updated, version in rows
    ]


DEAD_LETTER_COLUMNS = ("SEQ", "SERVICE", "EVENT", "JOB", "DELIVERIES", "ERROR")


def dead_letter_rows(letters: Sequence[DeadLetter]) -> list[list[str]]:
    return [
        [
            str(letter.seq),
            letter.service,
            letter.event_name,
            str(letter.job_id) if letter.job_id else "-",
            str(letter.deliveries),
            first_meaningful_line(letter.error, 500),
        ]
        for letter in letters
    ]


def dead_letter_records(letters: Sequence[DeadLetter]) -> list[dict[str, Any]]:
    return [
        {
            "seq": letter.seq,
            "service": letter.service,
            "event": letter.event_name,
            "job_id": str(letter.job_id) if letter.job_id else None,
            "deliveries": letter.deliveries,
            "error": letter.error,
        }
        for letter in letters
    ]


class IndexStatus(Protocol):
    """A repository and where its index is (``bdg_index_status``; "pending" before any row)."""

    @property
    def repo_id(self) -> UUID: ...
    @property
    def repo(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def phase(self) -> str: ...
    @property
    def commit(self) -> str | None: ...
    @property
    def files(self) -> int: ...
    @property
    def chunks(self) -> int: ...
    @property
    def done(self) -> int: ...
    @property
    def total(self) -> int: ...
    @property
    def errors(self) -> list[Any]: ...
    @property
    def updated_at(self) -> datetime | None: ...


def index_error(error: Any) -> str:
    """One recorded indexing error: ``path: reason`` when it names them, else as it is."""
    if isinstance(error, dict) and ("path" in error or "reason" in error):
        path, reason = error.get("path", ""), error.get("reason", error.get("error", ""))
        return f"{path}: {reason}" if path else str(reason)
    return str(error)


INDEX_COLUMNS = ("REPO ID", "STATE", "PROGRESS", "FILES", "CHUNKS", "COMMIT", "UPDATED",
                 "REPOSITORY  ERRORS / SKIPPED")  # fmt: skip


def _index_notes(row: IndexStatus) -> list[str]:
    """A failed row's phase is its reason; a ready row's errors are the files it skipped."""
    notes = [index_error(e) for e in row.errors[:3]]
    if len(row.errors) > 3:
        notes.append(f"+{len(row.errors) - 3} more")
    if row.state == "failed" and row.phase:
        notes.insert(0, row.phase)
    return notes


def index_rows(rows: Iterable[IndexStatus]) -> list[list[str]]:
    """One line per repository; the repository and its notes last (the free text)."""
    lines = []
    for row in rows:
        state = row.state
        if row.phase and row.state in ("queued", "indexing"):
            state += f" ({row.phase})"
        notes = "; ".join(_index_notes(row))
        lines.append(
            [
                str(row.repo_id),
                state,
                f"{row.done}/{row.total}" if row.total else "-",
                str(row.files),
                str(row.chunks),
                (row.commit or "")[:12] or "-",
                _minute(row.updated_at),
                row.repo + (f"  {notes}" if notes else ""),
            ]
        )
    return lines


def index_records(rows: Iterable[IndexStatus]) -> list[dict[str, Any]]:
    return [
        {
            "repo_id": str(row.repo_id),
            "repo": row.repo,
            "state": row.state,
            "phase": row.phase,
            "done": row.done,
            "total": row.total,
            "files": row.files,
            "chunks": row.chunks,
            "commit": row.commit,
            "errors": row.errors,
            "updated_at": row.updated_at.isoformat() if row.updated_at else None,
        }
        for row in rows
    ]
