"""Verifying a tenant's audit trail: the log's records against the bucket, file by file.

A recorded file that is gone is a deleted file; one whose bytes changed is a replaced file (and
its rows say how); an object in the tenant's prefix that the log never recorded is unexpected.
Every file is also verified row by row against the published keys. A file or digest that a
removal record (retention, an erasure's rewrite) lists is expected gone once that record itself
verifies: present, as the log recorded it, signed, and chained.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bdg_audit.digests import check_digest
from bdg_audit.keys import public_keys
from bdg_audit.layout import jwks_key, tenant_prefix
from bdg_audit.manifest import ChainEntry, Recorded, RecordedDigest, RecordedRemoval, in_range
from bdg_audit.removals import KIND, Removed, removed_of
from bdg_audit.store import ObjectStore
from bdg_audit.verify import Fault, Finding, verify_file


@dataclass(frozen=True)
class FileReport:
    key: str
    job_id: str
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return not self.findings


@dataclass
class Report:
    tenant_id: str
    files: list[FileReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.files)

    def as_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant_id,
            "ok": self.ok,
            "checked": len(self.files),
            "failed": sum(not f.ok for f in self.files),
            "files": [
                {
                    "key": f.key,
                    "job_id": f.job_id,
                    "ok": f.ok,
                    "findings": [
                        {"fault": x.fault.value, "line": x.line, "detail": x.detail}
                        for x in f.findings
                    ],
                }
                for f in self.files
            ],
        }


def _check_file(
    objects: ObjectStore, record: Recorded, keys: dict[str, Any], removed: dict[str, Removed]
) -> FileReport | None:
    """What is wrong with one recorded file; None when a verified removal record accounts for
    its absence."""
    content = objects.get(record.object_key)
    if content is None:
        gone = removed.get(record.object_key)
        if gone is not None and gone.sha256 == record.sha256:
            return None
        finding = Finding(Fault.deleted_file, None, "recorded in the log, gone from the bucket")
        return FileReport(record.object_key, record.job_id, [finding])
    findings = []
    sha = hashlib.sha256(content).hexdigest()
    if sha != record.sha256:
        detail = f"sha256 {sha[:12]}..., the log recorded {record.sha256[:12]}..."
        findings.append(Finding(Fault.replaced_file, None, detail))
    findings += verify_file(content, record.job_id, keys)
    return FileReport(record.object_key, record.job_id, findings)


def _named(entry: ChainEntry | None) -> dict[str, str] | None:
    if entry is None:
        return None
    return {"key": entry.object_key, "signature_sha256": entry.signature_sha256}


def _entry_body(
    objects: ObjectStore, entry: ChainEntry, previous: ChainEntry | None, keys: dict[str, Any]
) -> tuple[dict[str, Any] | None, list[Finding]]:
    """A chain entry's body if its signature verifies, and everything wrong with it."""
    content = objects.get(entry.object_key)
    if content is None:
        return None, [
            Finding(Fault.deleted_digest, None, "recorded in the log, gone from the bucket")
        ]
    findings = []
    if hashlib.sha256(content).hexdigest() != entry.sha256:
        findings.append(Finding(Fault.altered_digest, None, "sha256 differs from the log's"))
    body, problem = check_digest(content, keys)
    if body is None:
        return None, [*findings, *([problem] if problem else [])]
    if body.get("previous") != _named(previous):
        findings.append(Finding(Fault.broken_chain, None, "does not name the digest before it"))
    return body, findings


def removals_of(
    objects: ObjectStore, chain: list[ChainEntry], keys: dict[str, Any]
) -> tuple[dict[str, Removed], list[FileReport]]:
    """What the chain's removal records that verify list as removed, and a report of each."""
    removed: dict[str, Removed] = {}
    reports = []
    for previous, entry in zip([None, *chain], chain, strict=False):
        if not isinstance(entry, RecordedRemoval):
            continue
        body, findings = _entry_body(objects, entry, previous, keys)
        if body is not None and body.get("kind") != KIND:
            findings.append(Finding(Fault.altered_digest, None, "not a removal record"))
        # Only a record as the log has it, signed and chained, accounts for what is gone.
        for gone in removed_of(body or {}) if not findings else []:
            removed[gone.key] = gone
        reports.append(FileReport(entry.object_key, "", findings))
    return removed, reports


def _digest_findings(
    objects: ObjectStore,
    digest: RecordedDigest,
    previous: ChainEntry | None,
    files: list[Recorded],
    keys: dict[str, Any],
) -> list[Finding]:
    body, findings = _entry_body(objects, digest, previous, keys)
    if body is None:
        return findings
    listed = {f["key"]: f["sha256"] for f in body.get("files", [])}
    recorded = {r.object_key: r for r in files}
    for key, sha in sorted(listed.items()):
        if key not in recorded or recorded[key].sha256 != sha:
            findings.append(Finding(Fault.altered_digest, None, f"lists {key} unlike the log"))
    for r in files:
        inside = digest.period_start <= r.recorded_at < digest.period_end
        if inside and r.object_key not in listed:
            findings.append(Finding(Fault.altered_digest, None, f"leaves out {r.object_key}"))
    return findings


def check_digests(
    objects: ObjectStore,
    chain: list[ChainEntry],
    files: list[Recorded],
    keys: dict[str, Any],
    removed: dict[str, Removed],
) -> list[FileReport]:
    """Each recorded digest: present (or removed by a record that verifies), unchanged,
    signed, chained to the entry before it, listing what the log says."""
    reports = []
    for previous, digest in zip([None, *chain], chain, strict=False):
        if not isinstance(digest, RecordedDigest):
            continue
        gone = removed.get(digest.object_key)
        if gone is not None and gone.sha256 == digest.sha256 and not objects.exists(gone.key):
            continue
        findings = _digest_findings(objects, digest, previous, files, keys)
        reports.append(FileReport(digest.object_key, "", findings))
    return reports


def check_tenant(
    objects: ObjectStore,
    prefix: str,
    tenant_id: str,
    records: list[Recorded],
    start: date | None = None,
    end: date | None = None,
    job_id: str | None = None,
    chain: list[ChainEntry] | None = None,
) -> Report:
    """The tenant's files (within the dates, or of one job) and its chain of digests and
    removal records checked against the log."""
    stored = objects.get(jwks_key(prefix))
    keys = public_keys(json.loads(stored)) if stored else {}
    removed, removal_reports = removals_of(objects, chain or [], keys)
    chosen = [
        r
        for r in records
        if in_range(r.object_key, start, end) and (job_id is None or r.job_id == job_id)
    ]
    checked = (_check_file(objects, r, keys, removed) for r in chosen)
    report = Report(tenant_id, [f for f in checked if f is not None])
    if job_id is None and chain is not None:
        report.files += check_digests(objects, chain, records, keys, removed)
        report.files += removal_reports
    known = {r.object_key for r in records} | {d.object_key for d in chain or []}
    for obj in objects.list(tenant_prefix(prefix, tenant_id)):
        if obj.key in known or (job_id is None and not in_range(obj.key, start, end)):
            continue
        stray_job = obj.key.rsplit("/", 2)[-2]
        if job_id is None or stray_job == job_id:
            finding = Finding(
                Fault.unexpected_file, None, "in the bucket, never recorded in the log"
            )
            report.files.append(FileReport(obj.key, stray_job, [finding]))
    return report
