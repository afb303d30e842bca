"""Fixtures of the audit tests: a real SeaweedFS S3 (the embedded one) for the session, and a
bucket, keyring and auditor use case per test. Imported by the audit test modules."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from bdg_audit.keys import Keyring
from bdg_audit.settings import AuditSettings
from bdg_audit.store import ObjectStore
from bdg_auditor.adapters import AuditStorage
from bdg_auditor.application import Auditing
from bdg_jobs.application import utc_now
from bdg_jobs.store import JobStore
from bdg_runtime.embedded import start_embedded


@pytest.fixture(scope="session", name="s3_endpoint")
def s3_endpoint_fixture() -> Iterator[str]:
    home = Path(tempfile.mkdtemp(prefix="bdg-test-s3-"))
    stack = start_embedded(home, postgres=False, nats=False, s3=True)
    assert stack.s3_url
    try:
        yield stack.s3_url
    finally:
        stack.stop()
        shutil.rmtree(home, ignore_errors=True)


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


@pytest.fixture(name="audit_rig")
def audit_rig_fixture(s3_endpoint: str, database_url: str, tmp_path: Path) -> Iterator[AuditRig]:
    store = JobStore.from_url(database_url)
    try:
        yield rig_for(audit_settings(s3_endpoint, tmp_path), s3_endpoint, store, database_url)
    finally:
        store.close()
