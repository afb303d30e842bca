"""Signing rows into a hash chain, and the file they make: pure (the key comes in).

Each row's ``signature`` is a compact JWS (EdDSA, ``kid`` in the header) whose payload is the
canonical row plus its sequence number and the hash of the previous row's signature; the first
row chains to a hash of the job id. The last row seals the file (row count, final state, total
cost), so a file cut after any whole row is told from a complete one.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bdg_audit.layout import COLUMNS as COLUMNS  # re-exported: readers import it here
from bdg_audit.layout import SEAL_ACTION as SEAL_ACTION
from bdg_audit.rows import AuditRow


class Signer(Protocol):
    @property
    def kid(self) -> str: ...

    def sign(self, payload: bytes) -> str:
        """A compact JWS of ``payload`` with ``kid`` in its header."""
        ...


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def genesis(job_id: str) -> str:
    return hashlib.sha256(f"bdg-audit:{job_id}".encode()).hexdigest()


def link_of(signature: str) -> str:
    """What the next row chains to: the hash of this row's whole signature (payload included)."""
    return hashlib.sha256(signature.encode()).hexdigest()


def cells_of(row: AuditRow) -> dict[str, str]:
    return {
        "jobId": row.job_id,
        "userId": row.user_id,
        "action": row.action,
        "params": canonical_json(row.params),
        "cost": row.cost,
        "timestamp": row.timestamp,
    }


def payload_of(cells: dict[str, str], seq: int, prev: str) -> bytes:
    """The signed bytes: the row's cells exactly as written, its position and its link."""
    return canonical_json({**cells, "seq": seq, "prev": prev}).encode()


@dataclass(frozen=True)
class SignedFile:
    content: bytes
    sha256: str
    rows: int
    kids: tuple[str, ...]


def seal_row(rows: Sequence[AuditRow], job_id: str, through_version: int, state: str) -> AuditRow:
    total = sum(float(r.cost) for r in rows)
    return AuditRow(
        job_id=job_id,
        user_id=rows[0].user_id if rows else "",
        action=SEAL_ACTION,
        params={"rows": len(rows), "through_version": through_version, "state": state},
        cost=f"{total:.10f}".rstrip("0").rstrip(".") or "0",
        timestamp=rows[-1].timestamp if rows else "",
    )


def sign_rows(rows: Iterable[AuditRow], job_id: str, signer: Signer) -> list[list[str]]:
    """Rows as CSV records, each signed and chained to the one before."""
    prev = genesis(job_id)
    records: list[list[str]] = []
    for seq, row in enumerate(rows):
        cells = cells_of(row)
        signature = signer.sign(payload_of(cells, seq, prev))
        records.append([*cells.values(), signature])
        prev = link_of(signature)
    return records


def render_csv(records: Iterable[Sequence[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(records)
    return out.getvalue().encode()


def signed_file(
    rows: Sequence[AuditRow], job_id: str, through_version: int, state: str, signer: Signer
) -> SignedFile:
    """The whole ``audit.csv`` of one job: its rows and the seal, signed and chained."""
    sealed = [*rows, seal_row(rows, job_id, through_version, state)]
    content = render_csv(sign_rows(sealed, job_id, signer))
    return SignedFile(content, hashlib.sha256(content).hexdigest(), len(sealed), (signer.kid,))
