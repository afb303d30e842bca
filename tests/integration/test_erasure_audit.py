"""The audit trail across an erasure, over a real S3: its files never held the person in
readable form (keyed pseudonyms and digests), the erasure's signed record is written as an
audit file like a job's, and every file and digest still verifies afterwards."""

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
from fastapi import FastAPI

from bdg_audit.reader import AuditReader
from bdg_auditor.digester import Digester
from bdg_jobs.personal.pseudonyms import lookup_pseudonym
from tests.audit_history import ended_job
from tests.gateway_stack import Keys, Stack
from tests.integration.audit_rig import AuditRig

pytestmark = pytest.mark.timeout(120)


def objects_holding(rig: AuditRig, marker: str) -> list[str]:
    keys = [o.key for o in rig.objects.list("")]
    assert keys  # the bucket has the files: the search can find something
    return [k for k in keys if marker.encode() in (rig.objects.get(k) or b"")]


async def test_an_erasure_leaves_every_file_verifying_and_none_naming_the_person(
    audit_rig: AuditRig, gateway: FastAPI, client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    rig = audit_rig
    marker = "mk" + secrets.token_hex(8)
    job = ended_job(tenant="acme", user=marker)
    history = job.collect()
    await asyncio.to_thread(rig.store.append, history)
    written = await rig.auditing.write_file(job.job_id, history[-1].version)
    assert written is not None
    assert rig.store.personal is not None
    pseudonym = lookup_pseudonym(rig.store.personal.vault, "acme", marker)
    content = (rig.objects.get(written.object_key) or b"").decode()
    rows = list(csv.DictReader(io.StringIO(content)))
    assert {r["userId"] for r in rows} == {pseudonym}
    requested = json.loads(rows[0]["params"])
    assert set(requested["goal"]) == {"hmac", "chars"}
    assert requested["by"] == f"user:{pseudonym}"
    assert objects_holding(rig, marker) == []

    admin = keys.headers("acme", sub="root", roles=["admin"])
    erased = await client.post("/agent/data-delete", json={"user": marker}, headers=admin)
    assert erased.status_code == 200, erased.text
    erasure_id = UUID(erased.json()["erasure_id"])
    record = await rig.auditing.write_file(erasure_id, 1)
    assert record is not None
    again = await rig.auditing.write_file(erasure_id, 1)  # the sweeper or a redelivery
    assert again == record
    later = datetime.now(UTC) + timedelta(hours=2)
    digester = Digester(
        rig.store,
        rig.auditing.storage,
        rig.database_url,
        "audit",
        timedelta(hours=1),
        lambda: later,
    )
    assert await digester.step() >= 1

    report = AuditReader(rig.objects, rig.database_url, "audit").verify("acme")
    assert report.ok, report.as_json()
    assert {f.key for f in report.files} >= {written.object_key, record.object_key}
    signed = (rig.objects.get(record.object_key) or b"").decode()
    (row, seal) = list(csv.DictReader(io.StringIO(signed)))
    assert row["action"] == "personal_data.erased"
    params = json.loads(row["params"])
    assert params["categories"] == erased.json()["categories"]
    assert params["requested_by"] == lookup_pseudonym(rig.store.personal.vault, "acme", "root")
    assert seal["action"] == "audit.sealed"
    # The pseudonym is now no one's: the filter for the person finds nothing.
    assert lookup_pseudonym(rig.store.personal.vault, "acme", marker) != pseudonym
    assert objects_holding(rig, marker) == []
