"""The tamper suite over real S3 (SeaweedFS): each tampering detected and named, by the reader
the gateway and CLI share, by `bdg audit verify` (exit codes) and by the gateway's routes."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI

from bdg_audit.chain import render_csv, signed_file
from bdg_audit.keys import Keyring
from bdg_audit.reader import AuditReader
from bdg_audit.rows import rows_of
from bdg_audit.verify import Fault
from bdg_auditor.digester import Digester
from bdg_contracts.audit_events import AuditFileWritten
from tests.audit_history import T0, ended_job
from tests.conftest import Servers
from tests.gateway_stack import Keys, Stack
from tests.integration.audit_rig import AuditRig

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).parents[2]
HOUR = timedelta(hours=1)


async def _written(rig: AuditRig, tenant: str = "acme") -> AuditFileWritten:
    job = ended_job(tenant=tenant)
    history = job.collect()
    await asyncio.to_thread(rig.store.append, history)
    written = await rig.auditing.write_file(job.job_id, history[-1].version)
    assert written is not None
    return written


def _reader(rig: AuditRig) -> AuditReader:
    return AuditReader(rig.objects, rig.database_url, rig.settings.bdg_audit_prefix)


def _edit_rows(edit: Callable[[list[list[str]]], None]) -> Callable[[AuditRig, str], None]:
    def tamper(rig: AuditRig, key: str) -> None:
        content = rig.objects.get(key) or b""
        records = list(csv.reader(io.StringIO(content.decode())))[1:]
        edit(records)
        rig.objects.put(key, render_csv(records))

    return tamper


def _edit_cost(records: list[list[str]]) -> None:
    records[1][4] = "0"


def _delete_row(records: list[list[str]]) -> None:
    del records[2]


def _swap_rows(records: list[list[str]]) -> None:
    records[1], records[2] = records[2], records[1]


def _truncate(rig: AuditRig, key: str) -> None:
    content = rig.objects.get(key) or b""
    rig.objects.put(key, content[: len(content) // 2])


def _replace(rig: AuditRig, key: str) -> None:
    """Another job's valid file put in its place."""
    other = ended_job(tenant="acme")
    history = other.collect()
    signer = rig.keyring.active()
    stand_in = signed_file(rows_of(history), str(other.job_id), 6, "cancelled", signer)
    rig.objects.put(key, stand_in.content)


def _delete_file(rig: AuditRig, key: str) -> None:
    rig.objects.delete(key)


def _forge(rig: AuditRig, key: str) -> None:
    """The same rows re-signed (say, with a cost lowered) by a key that is not ours."""
    content = rig.objects.get(key) or b""
    job_id = content.decode().splitlines()[1].split(",", 1)[0]
    forger = Keyring(rig.settings.bdg_home / "forger").ensure(T0, timedelta(days=1))
    job = ended_job(job_id=UUID(job_id), tenant="acme")
    history = job.collect()
    rig.objects.put(key, signed_file(rows_of(history), job_id, 6, "cancelled", forger).content)


def _alter_digest(rig: AuditRig, key: str) -> None:
    """The period's digest edited to vouch for another hash of the file (as one would to cover
    a replaced file), without a valid signature for the change."""
    digest_key = next(o.key for o in rig.objects.list("audit/acme/digests/"))
    stored = json.loads(rig.objects.get(digest_key) or b"{}")
    for listed in stored["digest"]["files"]:
        if listed["key"] == key:
            listed["sha256"] = "0" * 64
    rig.objects.put(digest_key, json.dumps(stored).encode())


def _plant(rig: AuditRig, key: str) -> None:
    """A file nobody recorded, next to the real one."""
    rig.objects.put(key.replace("audit-v", "audit-planted-v"), rig.objects.get(key) or b"")


CASES: dict[str, tuple[Callable[[AuditRig, str], None], set[Fault]]] = {
    "edit a row": (_edit_rows(_edit_cost), {Fault.edited_row, Fault.replaced_file}),
    "delete a row": (_edit_rows(_delete_row), {Fault.deleted_row, Fault.replaced_file}),
    "reorder rows": (_edit_rows(_swap_rows), {Fault.reordered_rows, Fault.replaced_file}),
    "truncate": (_truncate, {Fault.truncated_file, Fault.replaced_file}),
    "replace the file": (_replace, {Fault.replaced_file}),
    "delete the file": (_delete_file, {Fault.deleted_file}),
    "forge with another key": (_forge, {Fault.unknown_key, Fault.replaced_file}),
    "alter a digest": (_alter_digest, {Fault.altered_digest}),
    "plant a file": (_plant, {Fault.unexpected_file}),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_each_tampering_is_detected_and_named(audit_rig: AuditRig, case: str) -> None:
    rig = audit_rig
    untouched = await _written(rig)
    target = await _written(rig)
    later = datetime.now(UTC) + timedelta(hours=2)  # the files' period has closed
    digester = Digester(
        rig.store, rig.auditing.storage, rig.database_url, "audit", HOUR, lambda: later
    )
    assert await digester.step() >= 1  # one period (two if the test straddles an hour)
    reader = _reader(rig)
    assert reader.verify("acme").ok

    tamper, expected = CASES[case]
    tamper(rig, target.object_key)
    report = await asyncio.to_thread(reader.verify, "acme")

    assert not report.ok
    bad = [f for f in report.files if not f.ok]
    # The tampered file, or the digest (named by key, no job) when that is what was changed.
    assert {f.job_id for f in bad} <= {str(target.audited_job_id), ""}
    assert expected <= {x.fault for f in bad for x in f.findings}, report.as_json()
    assert [f.ok for f in report.files if f.key == untouched.object_key] == [True]


def _bdg(rig: AuditRig, servers: Servers, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": rig.database_url,
        "NATS_URL": servers.nats_url,
        "BDG_HOME": str(rig.settings.bdg_home),
        "BDG_S3_ENDPOINT": rig.endpoint,
        "BDG_S3_BUCKET": rig.settings.bdg_s3_bucket,
    }
    return subprocess.run(
        [sys.executable, "-m", "bdg_cli.main", "audit", "verify", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_bdg_audit_verify_exits_0_only_when_all_verify(
    audit_rig: AuditRig, servers: Servers
) -> None:
    rig = audit_rig
    written = await _written(rig)
    clean = await asyncio.to_thread(_bdg, rig, servers, "--tenant", "acme")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "1 file(s) of tenant acme: all verify" in clean.stdout

    _edit_rows(_edit_cost)(rig, written.object_key)
    tampered = await asyncio.to_thread(_bdg, rig, servers, "--tenant", "acme", "--json")
    assert tampered.returncode == 1, tampered.stdout + tampered.stderr
    report = json.loads(tampered.stdout)
    faults = {x["fault"] for f in report["files"] for x in f["findings"]}
    assert faults == {"edited row", "replaced file"}
    line = [x["line"] for f in report["files"] for x in f["findings"] if x["fault"] == "edited row"]
    assert line == [3]

    backwards = await asyncio.to_thread(
        _bdg, rig, servers, "--from", "2026-12-06", "--to", "2026-12-05"
    )
    assert backwards.returncode == 2
    assert "--from" in backwards.stderr


async def test_gateway_serves_keys_and_verifies_only_the_callers_files(
    audit_rig: AuditRig, gateway: FastAPI, client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    rig = audit_rig
    ours = await _written(rig, tenant="acme")
    theirs = await _written(rig, tenant="globex")
    gateway.state.audit = AuditReader(rig.objects, stack.database_url, "audit")
    acme = keys.headers("acme")

    jwks = (await client.get("/agent/audit/keys", headers=acme)).json()
    assert [k["kid"] for k in jwks["keys"]] == [rig.keyring.active().kid]
    assert (await client.get("/agent/audit/keys")).status_code == 401

    report = (await client.get("/agent/audit/verify", headers=acme)).json()
    assert report["ok"] is True
    assert [f["job_id"] for f in report["files"]] == [str(ours.audited_job_id)]

    other = await client.get(
        "/agent/audit/verify", params={"job": str(theirs.audited_job_id)}, headers=acme
    )
    assert other.status_code == 404
    backwards = await client.get(
        "/agent/audit/verify", params={"from": "2026-12-06", "to": "2026-12-05"}, headers=acme
    )
    assert backwards.status_code == 422
    assert "from" in backwards.text

    rig.objects.delete(ours.object_key)
    broken = (await client.get("/agent/audit/verify", headers=acme)).json()
    assert broken["ok"] is False
    assert broken["files"][0]["findings"][0]["fault"] == "deleted file"
