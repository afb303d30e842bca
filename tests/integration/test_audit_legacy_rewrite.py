"""Audit files written before pseudonyms, across an erasure, over real PostgreSQL and S3: the
files that name the person in plain are rewritten under pseudonyms (new signed files, the old
objects removed under a signed erasure record), files that do not name them stay as they are,
and the whole trail (files, digests, records) verifies with the public keys.

The old files are made here by the auditor itself with people written in plain, as it wrote
them before pseudonyms (``bdg_audit.rows.IN_PLAIN``): real signatures, none written by hand.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import secrets
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
import pytest

from bdg_audit.manifest import recorded_files
from bdg_audit.reader import AuditReader
from bdg_audit.rows import IN_PLAIN
from bdg_auditor.digester import Digester
from bdg_auditor.legacy_rewrite import LegacyRewrite
from bdg_auditor.removal_records import RemovalRecords
from bdg_contracts.audit_events import (
    AuditFileWritten,
    AuditObjectsRemoved,
    RemovalReason,
    audit_trail_id,
    digest_chain_id,
)
from bdg_contracts.privacy_events import PersonalDataErased
from bdg_jobs.personal.pseudonyms import lookup_pseudonym
from tests.audit_history import deployed_job
from tests.gateway_stack import Keys, Stack, new_tenant
from tests.integration.audit_rig import AuditRig

pytestmark = pytest.mark.timeout(120)
HOUR = timedelta(hours=1)


async def _legacy_file(rig: AuditRig, tenant: str, user: str, approver: str) -> AuditFileWritten:
    job = deployed_job(tenant=tenant, user=user, approver=approver)
    history = job.collect()
    await asyncio.to_thread(rig.store.append, history)
    people, rig.auditing.people = rig.auditing.people, IN_PLAIN  # as before pseudonyms
    try:
        written = await rig.auditing.write_file(job.job_id, history[-1].version)
    finally:
        rig.auditing.people = people
    assert written is not None
    return written


def _rows(rig: AuditRig, key: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((rig.objects.get(key) or b"").decode())))


def _holding(rig: AuditRig, text: str) -> list[str]:
    keys = [o.key for o in rig.objects.list("")]
    return [k for k in keys if text.encode() in (rig.objects.get(k) or b"")]


async def _digest(rig: AuditRig, hours: int = 2) -> int:
    later = datetime.now(UTC) + hours * HOUR
    storage = rig.auditing.storage
    return await Digester(rig.store, storage, rig.database_url, "audit", HOUR, lambda: later).step()


async def test_files_naming_an_erased_person_in_plain_are_rewritten_and_all_verifies(
    audit_rig: AuditRig, client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    rig, tenant = audit_rig, new_tenant()
    marker = "mk" + secrets.token_hex(8)
    colleague = "grace" + secrets.token_hex(3)
    own = await _legacy_file(rig, tenant, marker, colleague)  # their job
    approved = await _legacy_file(rig, tenant, "bob", marker)  # they approved bob's deploy
    untouched = await _legacy_file(rig, tenant, "bob", colleague)
    assert await _digest(rig) >= 1
    assert set(_holding(rig, marker)) == {own.object_key, approved.object_key}
    before = rig.objects.get(untouched.object_key)

    admin = keys.headers(tenant, sub="root", roles=["admin"])
    erased = await client.post("/agent/data-delete", json={"user": marker}, headers=admin)
    assert erased.status_code == 200, erased.text
    erasure_id = UUID(erased.json()["erasure_id"])
    rig.auditing.clock = lambda: datetime.now(UTC) + 3 * HOUR  # after the periods digested
    assert await rig.auditing.write_file(erasure_id, 1) is not None
    removals = RemovalRecords(rig.store, rig.auditing.storage, "audit", rig.auditing.clock)
    rewrite = LegacyRewrite(rig.auditing, removals, rig.database_url)

    assert await rewrite.step() == 2
    assert await LegacyRewrite(rig.auditing, removals, rig.database_url).step() == 0  # once

    assert _holding(rig, marker) == []
    assert rig.objects.get(own.object_key) is None
    assert rig.objects.get(approved.object_key) is None
    assert rig.objects.get(untouched.object_key) == before  # names no one erased: as it was
    chain = rig.store.history(digest_chain_id(tenant))
    (record,) = [e for e in chain if isinstance(e, AuditObjectsRemoved)]
    assert (record.reason, record.erasure_id, record.removed) == (
        RemovalReason.erasure,
        erasure_id,
        2,
    )
    body = json.loads(rig.objects.get(record.object_key) or b"{}")["digest"]
    replaced = {r["key"]: r["replaced_by"] for r in body["removed"]}
    assert set(replaced) == {own.object_key, approved.object_key}
    assert body["detail"] == {"erasure": str(erasure_id), "rewritten": 2}

    # The new file says what the old one said, people as pseudonyms: the colleague as in
    # every file written today, the erased person as no one can tie to them.
    old_actions = [r["action"] for r in _rows(rig, untouched.object_key)]
    rows = _rows(rig, replaced[own.object_key])
    assert [r["action"] for r in rows] == old_actions
    assert stack.store.personal is not None
    vault = stack.store.personal.vault
    deploy = next(json.loads(r["params"]) for r in rows if r["action"] == "deploy.approved")
    assert deploy["approved_by"] == lookup_pseudonym(vault, tenant, colleague)
    owner_ids = {r["userId"] for r in rows if r["action"] != "deploy.approved"}
    (owner_id,) = owner_ids
    assert owner_id.startswith("p-")
    requested = json.loads(rows[0]["params"])
    assert set(requested["goal"]) == {"hmac", "chars"}

    assert await _digest(rig, 5) >= 1  # the new files are digested like any
    report = AuditReader(rig.objects, rig.database_url).verify(tenant)
    assert report.ok, [f for f in report.as_json()["files"] if not f["ok"]]
    checked = {f.key for f in report.files}
    assert {*replaced.values(), untouched.object_key, record.object_key} <= checked
    assert not {own.object_key, approved.object_key} & checked  # gone for a signed reason


async def test_a_rewrite_cut_short_is_finished_once(
    audit_rig: AuditRig, client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    """Killed after a new file was recorded, before the erasure record: the next pass lists
    the old file with the recorded new one, deletes it, and writes no second new file."""
    rig, tenant = audit_rig, new_tenant()
    marker = "mk" + secrets.token_hex(8)
    own = await _legacy_file(rig, tenant, marker, "grace")
    admin = keys.headers(tenant, sub="root", roles=["admin"])
    erased = await client.post("/agent/data-delete", json={"user": marker}, headers=admin)
    assert erased.status_code == 200, erased.text
    (erasure,) = stack.store.history(UUID(erased.json()["erasure_id"]))
    assert isinstance(erasure, PersonalDataErased)
    removals = RemovalRecords(rig.store, rig.auditing.storage, "audit", rig.auditing.clock)
    rewrite = LegacyRewrite(rig.auditing, removals, rig.database_url)
    (recorded,) = [
        r for r in recorded_files(rig.database_url, tenant) if r.job_id == str(own.audited_job_id)
    ]
    first = await rewrite.rewrite_file(recorded, erasure)  # then the crash
    assert first is not None

    assert await LegacyRewrite(rig.auditing, removals, rig.database_url).step() == 1

    trail = rig.store.history(audit_trail_id(own.audited_job_id))
    assert [e.object_key for e in trail if isinstance(e, AuditFileWritten)] == [
        own.object_key,
        first[0],
    ]
    assert rig.objects.get(own.object_key) is None
    assert _holding(rig, marker) == []
    report = AuditReader(rig.objects, rig.database_url).verify(tenant)
    assert report.ok, [f for f in report.as_json()["files"] if not f["ok"]]
