"""The audit bench: rows signed and written per second, and verified per second, beside the raw
limit of this machine measured in the same run (bare Ed25519 signs and verifies, cryptography).

Files of ``--rows`` rows each (a job of that many tool calls), ``--files`` of them, signed with a
fresh key, written to a real S3 (a SeaweedFS of its own under a temporary dir, or
``BDG_S3_ENDPOINT``), read back and verified.

Then an export of ``--export-rows`` rows (files of 1,000 rows; 1,000,000 is the issue's mark,
about 1.2 GB of CSV) streamed from S3 in a child process importing only the export
(bench/audit_export_child.py): rows/s and its peak RSS, beside its RSS before streaming.

    uv run python -m bench.audit_bench [--files 20] [--rows 1000] [--export-rows 100000]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.console import Console
from rich.table import Table

from bdg_audit.chain import cells_of, payload_of, signed_file
from bdg_audit.keys import Keyring, SigningKey, public_keys
from bdg_audit.rows import AuditRow, rows_of
from bdg_audit.settings import AuditSettings
from bdg_audit.store import ObjectStore
from bdg_audit.verify import verify_file
from bdg_jobs.domain import Cause, Job
from bdg_runtime.embedded import start_embedded

T0 = datetime(2026, 12, 5, tzinfo=UTC)


def job_rows(tool_calls: int) -> tuple[str, list[AuditRow], int]:
    """A cancelled job of ``tool_calls`` tool calls: its id, audit rows and last version."""
    clock = iter(T0 + timedelta(milliseconds=i) for i in range(tool_calls + 10))

    def cause(producer: str) -> Cause:
        return Cause(producer=producer, occurred_at=next(clock), user_id="bench")

    job = Job.request(uuid4(), "bench", cause("user:bench"), goal="benchmark the audit trail")
    job.make_plan_ready(cause("planner"), "1. write\n2. test")
    job.approve_plan(cause("user:bench"), approved_by="bench")
    for i in range(tool_calls):
        job.call_tool(
            cause("coder"),
            tool="write_file",
            arguments_json=f'{{"path": "src/m{i}.py", "text": "x = {i}"}}',
            result="ok",
            idempotency_key=f"k{i}",
        )
    job.cancel(cause("user:bench"))
    history = job.collect()
    return str(job.job_id), rows_of(history), history[-1].version


def raw_limits(payload: bytes, seconds: float = 2.0) -> tuple[float, float]:
    """Bare Ed25519 signatures/s and verifications/s of ``payload`` on this machine."""
    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    signature = key.sign(payload)
    rates = []
    for op in (lambda: key.sign(payload), lambda: public.verify(signature, payload)):
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            for _ in range(200):
                op()
            n += 200
        rates.append(n / (time.perf_counter() - start))
    return rates[0], rates[1]


def export_bench(
    objects: ObjectStore, endpoint: str, bucket: str, total: int, key: SigningKey
) -> tuple[float, ...]:
    """Write ``total`` rows in files of 1,000 (one signed file reused under many keys), then
    export them in a child process."""
    job, rows, last = job_rows(995)
    content = signed_file(rows, job, last, "cancelled", key).content
    keys = [
        f"audit/bench/2026/12/05/{job}-{i}/audit-v000001.csv" for i in range(max(total // 1000, 1))
    ]
    for k in keys:
        objects.put(k, content)
    raw_rows = bare_get_rows(objects, keys, content.count(b"\n") - 2, len(content))
    day = T0.date().isoformat()
    child = subprocess.run(
        [sys.executable, "-m", "bench.audit_export_child", endpoint, bucket, day, day],
        input="\n".join(keys),
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    )
    return (*(float(x) for x in child.stdout.split()), raw_rows)


def bare_get_rows(objects: ObjectStore, keys: list[str], rows: int, size: int) -> float:
    """The raw limit of an export here: the same files' bytes read from S3 and dropped, as
    rows/s (``rows`` exportable rows in each file of ``size`` bytes)."""
    total, start = 0, time.perf_counter()
    for k in keys:
        body = objects.client.get_object(Bucket=objects.bucket, Key=k)["Body"]
        for chunk in body.iter_chunks(1 << 20):
            total += len(chunk)
    return total / size * rows / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--export-rows", type=int, default=100_000)
    args = parser.parse_args()
    console = Console()
    home = Path(tempfile.mkdtemp(prefix="bdg-audit-bench-"))
    stack = None
    endpoint = os.environ.get("BDG_S3_ENDPOINT")
    try:
        if not endpoint:
            stack = start_embedded(home, postgres=False, nats=False, s3=True)
            endpoint = stack.s3_url
        assert endpoint
        settings = AuditSettings(
            bdg_home=home, bdg_s3_endpoint=endpoint, bdg_s3_bucket=f"bench-{secrets.token_hex(4)}"
        )
        objects = ObjectStore.connect(endpoint, settings)
        objects.ensure_bucket()
        key = Keyring(home / "keys").ensure(T0, timedelta(days=1))
        keys = public_keys({"keys": [key.jwk()]})
        jobs = [job_rows(args.rows) for _ in range(args.files)]
        total = sum(len(rows) + 1 for _, rows, _ in jobs)

        sample = payload_of(cells_of(jobs[0][1][3]), 3, "0" * 64)
        raw_sign, _ = raw_limits(sample, 1.0)  # just before: the load of others moves it
        start = time.perf_counter()
        files = [signed_file(rows, job, last, "cancelled", key) for job, rows, last in jobs]
        signed_s = time.perf_counter() - start
        start = time.perf_counter()
        for (job, _, _), file in zip(jobs, files, strict=True):
            objects.put(f"audit/bench/{job}/audit.csv", file.content)
        put_s = time.perf_counter() - start

        start = time.perf_counter()
        contents = [objects.get(f"audit/bench/{job}/audit.csv") or b"" for job, _, _ in jobs]
        get_s = time.perf_counter() - start
        _, raw_verify = raw_limits(sample, 1.0)
        start = time.perf_counter()
        faults = sum(
            len(verify_file(c, job, keys)) for (job, _, _), c in zip(jobs, contents, strict=True)
        )
        verify_s = time.perf_counter() - start
        assert faults == 0, "the bench's own files must verify"

        size = sum(len(f.content) for f in files)

        table = Table(
            title=f"audit trail: {args.files} files x {args.rows + 5} rows, {size / 1e6:.1f} MB"
        )
        table.add_column("what")
        table.add_column("rows/s", justify="right")
        table.add_column("of the raw limit", justify="right")
        table.add_row(
            "sign + chain + CSV (memory)",
            f"{total / signed_s:,.0f}",
            f"{total / signed_s / raw_sign:.0%}",
        )
        table.add_row(
            "signed and written to S3",
            f"{total / (signed_s + put_s):,.0f}",
            f"{total / (signed_s + put_s) / raw_sign:.0%}",
        )
        table.add_row(
            "verify (memory)", f"{total / verify_s:,.0f}", f"{total / verify_s / raw_verify:.0%}"
        )
        table.add_row(
            "read from S3 and verified",
            f"{total / (get_s + verify_s):,.0f}",
            f"{total / (get_s + verify_s) / raw_verify:.0%}",
        )
        table.add_row("raw: bare Ed25519 sign", f"{raw_sign:,.0f}", "100%")
        table.add_row("raw: bare Ed25519 verify", f"{raw_verify:,.0f}", "100%")
        console.print(table)
        if args.export_rows:
            rows, seconds, before, peak, raw_get = export_bench(
                objects, endpoint, settings.bdg_s3_bucket, args.export_rows, key
            )
            console.print(
                f"export: {rows:,.0f} rows in {seconds:.1f} s = {rows / seconds:,.0f} rows/s; "
                f"peak RSS {peak:.0f} MB (before streaming {before:.0f} MB); raw: bare S3 GET "
                f"of the same files {raw_get:,.0f} rows/s"
            )
        console.print(
            f"S3: {endpoint}; {os.cpu_count()} CPU(s); payload of a row {len(sample)} bytes"
        )
    finally:
        if stack is not None:
            stack.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
