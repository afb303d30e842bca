"""What the audit tests are built from: a bucket, keyring and auditor use case per test (the
fixtures that make them, over a real SeaweedFS, are in ``tests/integration/conftest.py``)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bdg_audit.keys import Keyring
from bdg_audit.settings import AuditSettings
from bdg_audit.store import ObjectStore
from bdg_auditor.adapters import AuditStorage
from bdg_auditor.application import Auditing
from bdg_jobs.application import utc_now
from bdg_jobs.store import JobStore


@dataclass
class AuditRig:
    settings: AuditSettings
    endpoint: str
    objects: ObjectStore
    keyring: Keyring
    store: JobStore
    auditing: Auditing
    database_url: str


def audit_settings(endpoint: str, home: Path) -> AuditSettings:
    return AuditSettings(
        bdg_home=home,
        bdg_s3_endpoint=endpoint,
        bdg_s3_bucket=f"audit-{secrets.token_hex(6)}",
    )


def rig_for(settings: AuditSettings, endpoint: str, store: JobStore, database_url: str) -> AuditRig:
    objects = ObjectStore.connect(endpoint, settings)
    keyring = Keyring(settings.keys_dir)
    storage = AuditStorage(objects, keyring, settings.bdg_audit_prefix, timedelta(days=30))
    auditing = Auditing(store, storage, settings.bdg_audit_prefix, utc_now)
    return AuditRig(settings, endpoint, objects, keyring, store, auditing, database_url)
