"""Verifying one audit file against the public keys: pure, every fault named by line.

Each signature is checked alone first (unknown kid, wrong key), then its payload against the
cells beside it (an edited row), then the chain: sequence numbers give deleted and reordered
rows, the links give a row spliced in from elsewhere, the seal gives a truncated file.
"""

from __future__ import annotations

import binascii
import csv
import io
import itertools
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bdg_audit.chain import COLUMNS, SEAL_ACTION, genesis, link_of
from bdg_audit.keys import unb64url


class Fault(StrEnum):
    edited_row = "edited row"
    deleted_row = "deleted row"
    reordered_rows = "reordered rows"
    truncated_file = "truncated file"
    replaced_file = "replaced file"
    deleted_file = "deleted file"
    unexpected_file = "unexpected file"
    unknown_key = "signature by an unknown key"
    wrong_key = "signature by a wrong key"
    broken_chain = "broken chain"
    deleted_digest = "deleted digest"
    altered_digest = "altered digest"
    malformed = "malformed file"


@dataclass(frozen=True)
class Finding:
    fault: Fault
    line: int | None  # 1 = the header; None = the whole file
    detail: str


@dataclass(frozen=True)
class _Row:
    line: int
    seq: int
    prev: str
    link: str
    action: str
    params: str


def _check_signature(
    line: int, cells: list[str], keys: dict[str, Ed25519PublicKey], findings: list[Finding]
) -> dict[str, Any] | None:
    """The signed row, if the signature is a compact JWS by a known key that verifies."""
    try:
        header_b64, payload_b64, signature_b64 = cells[-1].split(".")
        header = json.loads(unb64url(header_b64))
        payload, signature = unb64url(payload_b64), unb64url(signature_b64)
        kid = header.get("kid")
    except (ValueError, AttributeError, binascii.Error) as error:
        findings.append(Finding(Fault.edited_row, line, f"signature unreadable: {error}"))
        return None
    key = keys.get(str(kid))
    if key is None:
        findings.append(Finding(Fault.unknown_key, line, f"kid {kid!r} is not a published key"))
        return None
    try:
        if header.get("alg") != "EdDSA":
            raise InvalidSignature
        key.verify(signature, f"{header_b64}.{payload_b64}".encode())
    except InvalidSignature:
        findings.append(Finding(Fault.wrong_key, line, f"does not verify with key {kid!r}"))
        return None
    data: dict[str, Any] = json.loads(payload)
    edited = [c for c in COLUMNS[:-1] if data.get(c) != cells[COLUMNS.index(c)]]
    if edited:
        detail = f"cells differ from the signed row: {edited}"
        findings.append(Finding(Fault.edited_row, line, detail))
    return data


def _check_chain(rows: list[_Row], job_id: str, findings: list[Finding]) -> None:
    by_seq = {r.seq: r for r in rows}
    for before, after in itertools.pairwise(rows):
        if after.seq < before.seq:
            findings.append(
                Finding(Fault.reordered_rows, after.line, f"row {after.seq} after row {before.seq}")
            )
    present = sorted(by_seq)
    for seq, following in itertools.pairwise([-1, *present]):
        if following > seq + 1:
            gone = list(range(seq + 1, following))
            line = by_seq[following].line
            findings.append(Finding(Fault.deleted_row, line, f"rows {gone} missing before it"))
    for row in rows:
        expected = (
            genesis(job_id) if row.seq == 0 else getattr(by_seq.get(row.seq - 1), "link", None)
        )
        if expected is not None and row.prev != expected:
            findings.append(Finding(Fault.broken_chain, row.line, "does not follow the row before"))


def _check_seal(rows: list[_Row], findings: list[Finding]) -> None:
    if not rows or rows[-1].action != SEAL_ACTION:
        where = rows[-1].line if rows else 1
        findings.append(Finding(Fault.truncated_file, where, "no seal row at the end"))
        return
    sealed = json.loads(rows[-1].params).get("rows")
    if sealed != rows[-1].seq:
        findings.append(
            Finding(Fault.truncated_file, rows[-1].line, f"seal counts {sealed} rows before it")
        )


def verify_file(content: bytes, job_id: str, keys: dict[str, Ed25519PublicKey]) -> list[Finding]:
    """Everything wrong with one job's audit file; empty when it verifies."""
    findings: list[Finding] = []
    try:
        text = content.decode()
    except UnicodeDecodeError:
        return [Finding(Fault.malformed, None, "not UTF-8 text")]
    if text and not text.endswith("\n"):
        findings.append(Finding(Fault.truncated_file, None, "the last line is cut"))
    records = list(csv.reader(io.StringIO(text)))
    if not records or tuple(records[0]) != COLUMNS:
        return [*findings, Finding(Fault.malformed, 1, f"header is not {','.join(COLUMNS)}")]
    rows: list[_Row] = []
    for line, cells in enumerate(records[1:], start=2):
        if len(cells) != len(COLUMNS):
            cut = line == len(records) and findings
            fault = Fault.truncated_file if cut else Fault.malformed
            findings.append(Finding(fault, line, f"{len(cells)} cells, not {len(COLUMNS)}"))
            continue
        if cells[0] != job_id:
            findings.append(Finding(Fault.replaced_file, line, f"a row of job {cells[0]}"))
        data = _check_signature(line, cells, keys, findings)
        if data is not None:
            rows.append(
                _Row(
                    line,
                    int(data["seq"]),
                    str(data["prev"]),
                    link_of(cells[-1]),
                    str(data["action"]),
                    str(data["params"]),
                )
            )
    # A row whose signature fails cannot vouch for its place: the chain and seal checks would
    # only repeat that fault as missing rows.
    if not any(f.fault in (Fault.unknown_key, Fault.wrong_key) for f in findings):
        _check_chain(rows, job_id, findings)
        _check_seal(rows, findings)
    return findings
