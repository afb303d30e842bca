"""A tenant's audit rows over a date range as one CSV stream, in constant memory.

Rows come from the stored (signed) files, read line by line; each job's latest file in the range
holds all its rows, so earlier files of the same job are skipped. Only the list of files is held
(one entry per file), never the rows. Seal rows are left out; each exported row keeps its
signature, so an export can still be checked row by row against the published keys. A file whose
job ran inside the range, exported with no user or action filter, is passed on as read (header
and seal cut off) without a line split: most of a bulk export's time was the split.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import cached_property

from bdg_audit.layout import COLUMNS, SEAL_ACTION  # not chain: it needs the contracts
from bdg_audit.manifest import Recorded, day_of_key
from bdg_audit.store import ObjectStore

CHUNK_BYTES = 64 * 1024  # bytes of CSV handed on at once


class ExportRangeError(ValueError):
    """The range is backwards or longer than the tenant may export at once."""


@dataclass(frozen=True)
class ExportQuery:
    start: date
    end: date
    user: str | None = None
    action: str | None = None

    def check(self, max_days: int) -> None:
        if self.start > self.end:
            raise ExportRangeError("from: must not be after to")
        if (self.end - self.start).days + 1 > max_days:
            raise ExportRangeError(f"to: a range of at most {max_days} days")

    def wants(self, line: bytes) -> bool:
        """Whether a file's CSV line is exported. Split by hand (a CSV parse per row halves the
        throughput): jobId and action never hold commas or quotes, cost, timestamp and
        signature neither; only a quoted userId needs the CSV reader."""
        head = line.split(b",", 3)
        if len(head) == 4 and not head[1].startswith(b'"'):
            user, action = head[1].decode(), head[2].decode()
            tail = head[3].rsplit(b",", 3)
            if len(tail) != 4:
                return False
            day = tail[2][:10].decode()
        else:
            cells = next(csv.reader([line.decode()]))
            if len(cells) != len(COLUMNS):
                return False
            user, action, day = cells[1], cells[2], cells[5][:10]
        return (
            action != SEAL_ACTION
            and self._first <= day <= self._last  # ISO dates compare as text
            and (self.user is None or user == self.user)
            and (self.action is None or action == self.action)
        )

    @cached_property
    def _first(self) -> str:
        return self.start.isoformat()

    @cached_property
    def _last(self) -> str:
        return self.end.isoformat()


def files_for(records: Iterable[Recorded], query: ExportQuery) -> list[Recorded]:
    """Each job's latest file that may hold rows in the range, oldest job first."""
    latest: dict[str, Recorded] = {}
    for r in records:
        ended = day_of_key(r.object_key)
        started = r.started_at.date() if r.started_at else ended
        if ended < query.start or started > query.end:
            continue
        # The same version again: a file rewritten under pseudonyms, the later one.
        if r.job_id not in latest or r.through_version >= latest[r.job_id].through_version:
            latest[r.job_id] = r
    return sorted(latest.values(), key=lambda r: (r.started_at or r.recorded_at, r.job_id))


def _inside(record: Recorded, query: ExportQuery) -> bool:
    """Whether every row of the file is wanted: no user or action filter, and the job ran
    within the range (each row's time is between its request and its end)."""
    if query.user is not None or query.action is not None or record.started_at is None:
        return False
    return query.start <= record.started_at.date() and day_of_key(record.object_key) <= query.end


def _all_rows(objects: ObjectStore, record: Recorded, query: ExportQuery) -> Iterator[bytes]:
    """The file's rows as stored, in the chunks read: all but the header and the seal (the
    last line), with no line split unless a seal row shows up elsewhere."""
    tail, header = b"", True
    for chunk in objects.chunks(record.object_key):
        data = tail + chunk
        if header:
            start = data.find(b"\n") + 1
            if not start:
                tail = data
                continue
            data, header = data[start:], False
        cut = data.rfind(b"\n", 0, len(data) - 1) + 1  # the last line waits: it may be the seal
        body, tail = data[:cut], data[cut:]
        if b"," + SEAL_ACTION.encode() + b"," in body:  # not a file as written: line by line
            body = b"".join(line + b"\n" for line in body.split(b"\n")[:-1] if query.wants(line))
        if body:
            yield body
    last = tail.rstrip(b"\n")
    if last and not header and query.wants(last):
        yield last + b"\n"


def _wanted_rows(objects: ObjectStore, record: Recorded, query: ExportQuery) -> Iterator[bytes]:
    lines = objects.lines(record.object_key)
    next(lines, None)  # the file's header
    for line in lines:
        # One record per line: params is JSON, whose strings escape their newlines.
        if query.wants(line):
            yield line + b"\n"


def export_csv(objects: ObjectStore, files: list[Recorded], query: ExportQuery) -> Iterator[bytes]:
    """The CSV, header first, in chunks of about CHUNK_BYTES."""
    buffer = [(",".join(COLUMNS) + "\n").encode()]
    size = 0
    for record in files:
        rows = _all_rows if _inside(record, query) else _wanted_rows
        for piece in rows(objects, record, query):
            buffer.append(piece)
            size += len(piece)
            if size >= CHUNK_BYTES:
                yield b"".join(buffer)
                buffer, size = [], 0
    if buffer:
        yield b"".join(buffer)
