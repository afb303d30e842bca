"""Exports over real PostgreSQL and S3 (SeaweedFS): the caller's rows of a date range as a CSV
stream, filtered by user and action; bad ranges refused before anything is streamed."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from bdg_audit.chain import COLUMNS
from bdg_audit.export import ExportQuery, export_csv
from bdg_audit.manifest import recorded_files
from bdg_audit.reader import AuditReader
from bdg_contracts.audit_events import AuditFileWritten
from bdg_jobs.domain import Cause, Job
from bdg_jobs.personal.pseudonyms import lookup_pseudonym
from tests.audit_history import T0, deployed_job, ended_job
from tests.conftest import Servers
from tests.gateway_stack import Keys, Stack
from tests.integration.audit_rig import AuditRig

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).parents[2]
DAY = {"from": "2026-12-05", "to": "2026-12-05"}


async def _written(rig: AuditRig, tenant: str, user: str) -> AuditFileWritten:
    job = ended_job(tenant=tenant, user=user)
    history = job.collect()
    await asyncio.to_thread(rig.store.append, history)
    written = await rig.auditing.write_file(job.job_id, history[-1].version)
    assert written is not None
    return written


def _pseudonym(stack: Stack, tenant: str, user: str) -> str:
    assert stack.store.personal is not None
    return lookup_pseudonym(stack.store.personal.vault, tenant, user)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_export_streams_the_callers_rows_filtered(
    audit_rig: AuditRig, gateway: FastAPI, client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    rig = audit_rig
    ada = await _written(rig, "acme", "ada")
    bob = await _written(rig, "acme", "bob")
    await _written(rig, "globex", "eve")
    gateway.state.audit = AuditReader(rig.objects, stack.database_url, "audit")
    acme = keys.headers("acme")

    whole = await client.get("/agent/audit/export", params=DAY, headers=acme)
    assert whole.status_code == 200
    assert whole.headers["content-type"].startswith("text/csv")
    assert whole.text.splitlines()[0] == ",".join(COLUMNS)
    rows = _rows(whole.text)
    assert len(rows) == 12  # six rows of each acme job, no seal rows
    assert {r["jobId"] for r in rows} == {str(ada.audited_job_id), str(bob.audited_job_id)}

    mine = await client.get(
        "/agent/audit/export", params={**DAY, "user": "bob", "action": "model.called"}, headers=acme
    )
    # Files name people by pseudonym (bdg_audit.rows); the filter takes the user id.
    assert [(r["userId"], r["action"], r["cost"]) for r in _rows(mine.text)] == [
        (_pseudonym(stack, "acme", "bob"), "model.called", "0.00123")
    ]
    before = await client.get(
        "/agent/audit/export", params={"from": "2026-12-01", "to": "2026-12-04"}, headers=acme
    )
    assert _rows(before.text) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-12-06", "to": "2026-12-05"}, "from"),
        ({"from": "2020-01-01", "to": "2026-12-05"}, "to"),
        ({"to": "2026-12-05"}, "from"),
        ({"from": "yesterday", "to": "2026-12-05"}, "from"),
    ],
)
async def test_a_bad_range_is_a_422_naming_the_field_and_streams_nothing(
    audit_rig: AuditRig,
    gateway: FastAPI,
    client: httpx.AsyncClient,
    keys: Keys,
    stack: Stack,
    params: dict[str, str],
    field: str,
) -> None:
    await _written(audit_rig, "acme", "ada")
    gateway.state.audit = AuditReader(audit_rig.objects, stack.database_url, "audit")
    answer = await client.get("/agent/audit/export", params=params, headers=keys.headers("acme"))
    assert answer.status_code == 422
    assert field in answer.text
    assert "jobId" not in answer.text


async def test_bdg_audit_export_writes_the_file(
    audit_rig: AuditRig, servers: Servers, tmp_path: Path
) -> None:
    rig = audit_rig
    await _written(rig, "acme", "ada")
    out = tmp_path / "export.csv"
    env = {
        **os.environ,
        "DATABASE_URL": rig.database_url,
        "NATS_URL": servers.nats_url,
        "BDG_HOME": str(rig.settings.bdg_home),
        "BDG_S3_ENDPOINT": rig.endpoint,
        "BDG_S3_BUCKET": rig.settings.bdg_s3_bucket,
    }
    args = ["audit", "export", "--tenant", "acme", "--from", "2026-12-05", "--to", "2026-12-05"]
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bdg_cli.main", *args, "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 rows written" in done.stdout
    assert len(_rows(out.read_text())) == 6


async def test_the_period_report_as_csv_and_html(
    audit_rig: AuditRig, gateway: FastAPI, client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    rig = audit_rig
    job = deployed_job(tenant="acme", user="ada", approver="grace")
    history = job.collect()
    await asyncio.to_thread(rig.store.append, history)
    await rig.auditing.write_file(job.job_id, history[-1].version)
    await _written(rig, "globex", "eve")
    gateway.state.audit = AuditReader(rig.objects, stack.database_url, "audit")
    acme = keys.headers("acme")

    table = await client.get("/agent/audit/report", params={**DAY, "format": "csv"}, headers=acme)
    assert table.status_code == 200
    rows = _rows(table.text)
    approvals = {(r["user"], r["action"]) for r in rows if r["section"] == "approvals"}
    ada, grace = _pseudonym(stack, "acme", "ada"), _pseudonym(stack, "acme", "grace")
    assert approvals == {(ada, "plan.approved"), (grace, "deploy.approved")}
    assert {r["user"] for r in rows} <= {ada, grace, "(all)", ""}
    assert [r["cost"] for r in rows if r["user"] == "(all)"] == ["0.25"]

    page = await client.get("/agent/audit/report", params=DAY, headers=acme)
    assert page.headers["content-type"].startswith("text/html")
    assert "rollback.done" in page.text
    assert "eve" not in page.text
    bad = await client.get(
        "/agent/audit/report", params={"from": "2026-12-06", "to": "2026-12-05"}, headers=acme
    )
    assert bad.status_code == 422


async def test_a_whole_file_passed_on_as_read_is_what_the_line_filter_gives(
    audit_rig: AuditRig,
) -> None:
    """A file of 1,200 tool calls (over a MB: chunks end inside rows), exported without a
    filter (passed on as read) and line by line (its start unknown): the same bytes."""
    rig = audit_rig
    clock = T0 + timedelta(minutes=5)
    ada = Cause(producer="user:ada", occurred_at=clock, user_id="ada")
    job = Job.request(uuid4(), "acme", ada, goal="many files")
    job.make_plan_ready(Cause(producer="planner", occurred_at=clock), "1. write them")
    job.approve_plan(ada, approved_by="ada")
    for i in range(1200):
        job.call_tool(
            Cause(producer="coder", occurred_at=clock),
            tool="write_file",
            arguments_json=json.dumps({"path": f"src/m{i}.py", "text": "x" * 900}),
            result="ok",
            idempotency_key=f"k{i}",
        )
    job.cancel(ada, reason="done")
    history = job.collect()
    await asyncio.to_thread(rig.store.append, history)
    written = await rig.auditing.write_file(job.job_id, history[-1].version)
    assert written is not None
    assert written.size > 1 << 20
    (record,) = [
        r for r in recorded_files(rig.database_url, "acme") if r.object_key == written.object_key
    ]
    query = ExportQuery(date(2026, 12, 5), date(2026, 12, 5))

    as_read = b"".join(export_csv(rig.objects, [record], query))
    by_line = b"".join(export_csv(rig.objects, [replace(record, started_at=None)], query))

    assert as_read == by_line
    assert as_read.count(b"\n") == written.rows  # every row but the seal, and the header
    assert b"audit.sealed" not in as_read
