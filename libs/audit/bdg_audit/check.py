"""Verifying a tenant's audit trail: the log's records against the bucket, file by file.

A recorded file that is gone is a deleted file; one whose bytes changed is a replaced file (and
its rows say how); an object in the tenant's prefix that the log never recorded is unexpected.
Every file is also verified row by row against the published keys.
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
from bdg_audit.manifest import Recorded, RecordedDigest, in_range
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


def _check_file(objects: ObjectStore, record: Recorded, keys: dict[str, Any]) -> FileReport:
    content = objects.get(record.object_key)
    if content is None:
        finding = Finding(Fault.deleted_file, None, "recorded in the log, gone from the bucket")
        return FileReport(record.object_key, record.job_id, [finding])
    findings = []
    sha = hashlib.sha256(content).hexdigest()
    if sha != record.sha256:
        detail = f"sha256 {sha[:12]}..., the log recorded {record.sha256[:12]}..."
        findings.append(Finding(Fault.replaced_file, None, detail))
    findings += verify_file(content, record.job_id, keys)
    return FileReport(record.object_key, record.job_id, findings)


def _digest_findings(
    objects: ObjectStore,
    digest: RecordedDigest,
    previous: RecordedDigest | None,
    files: list[Recorded],
    keys: dict[str, Any],
) -> list[Finding]:
    content = objects.get(digest.object_key)
    if content is None:
        return [Finding(Fault.deleted_digest, None, "recorded in the log, gone from the bucket")]
    findings = []
    if hashlib.sha256(content).hexdigest() != digest.sha256:
        findings.append(Finding(Fault.altered_digest, None, "sha256 differs from the log's"))
    body, problem = check_digest(content, keys)
    if body is None:
        return [*findings, *([problem] if problem else [])]
    named = (
        None
        if previous is None
        else {
            "key": previous.object_key,
            "signature_sha256": previous.signature_sha256,
        }
    )
    if body.get("previous") != named:
        findings.append(Finding(Fault.broken_chain, None, "does not name the digest before it"))
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
    objects: ObjectStore, digests: list[RecordedDigest], files: list[Recorded], keys: dict[str, Any]
) -> list[FileReport]:
    """Each recorded digest: present, unchanged, signed, chained, listing what the log says."""
    reports = []
    for previous, digest in zip([None, *digests], digests, strict=False):
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
    digests: list[RecordedDigest] | None = None,
) -> Report:
    """The tenant's files (within the dates, or of one job) and digests checked against the
    log."""
    stored = objects.get(jwks_key(prefix))
    keys = public_keys(json.loads(stored)) if stored else {}
    chosen = [
        r
        for r in records
        if in_range(r.object_key, start, end) and (job_id is None or r.job_id == job_id)
    ]
    report = Report(tenant_id, [_check_file(objects, r, keys) for r in chosen])
    if job_id is None and digests is not None:
        report.files += check_digests(objects, digests, records, keys)
    known = {r.object_key for r in records} | {d.object_key for d in digests or []}
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
