"""`bdg audit verify|export|report|rotate-key`: a tenant's audit files checked against the log
and the keys, its rows of a date range streamed to a CSV file, the period's report, a new key.

``verify`` prints each file's faults by line (or the JSON report with ``--json``); exits 0 only
when every file verifies, 1 when any does not, 2 when the storage cannot be reached.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn

from bdg_audit.check import Report
from bdg_audit.export import ExportQuery, ExportRangeError
from bdg_audit.keys import Keyring
from bdg_audit.reader import AuditReader
from bdg_audit.report import as_csv, as_html
from bdg_audit.settings import AuditSettings
from bdg_audit.store import ObjectStore, StorageUnavailableError
from bdg_cli.context import caller, urls
from bdg_runtime.embedded import start_embedded

app = typer.Typer(help="The signed audit trail: verify, export, report.", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date YYYY-MM-DD", param_hint=name) from None


def _print(report: Report) -> None:
    for file in report.files:
        console.print(f"{'ok  ' if file.ok else 'FAIL'} {file.key}")
        for finding in file.findings:
            where = f"line {finding.line}" if finding.line else "file"
            console.print(f"     {finding.fault.value} ({where}): {finding.detail}")
    verdict = "all verify" if report.ok else f"{sum(not f.ok for f in report.files)} failed"
    console.print(f"{len(report.files)} file(s) of tenant {report.tenant_id}: {verdict}")


@contextlib.contextmanager
def _reader() -> Iterator[AuditReader]:
    settings = AuditSettings()
    stack = None
    endpoint = settings.bdg_s3_endpoint
    if not endpoint:
        stack = start_embedded(settings.bdg_home, postgres=False, nats=False, s3=True)
        endpoint = stack.s3_url
    assert endpoint
    try:
        with urls() as (database_url, _):
            objects = ObjectStore.connect(endpoint, settings)
            yield AuditReader(objects, database_url, settings.bdg_audit_prefix)
    finally:
        if stack is not None:
            stack.stop()


@app.command("export")
def export(
    start: Annotated[str, typer.Option("--from", help="first day YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--to", help="last day YYYY-MM-DD")],
    out: Annotated[Path, typer.Option(help="the CSV file to write")],
    tenant: Annotated[str | None, typer.Option(help="[default BDG_TENANT or local]")] = None,
    user: Annotated[str | None, typer.Option(help="only this user's rows")] = None,
    action: Annotated[str | None, typer.Option(help="only this action, e.g. model.called")] = None,
) -> None:
    """The tenant's audit rows of a date range as CSV, streamed to a file."""
    first, last = _day(start, "--from"), _day(end, "--to")
    assert first
    assert last
    query = ExportQuery(first, last, user, action)
    try:
        query.check(AuditSettings().bdg_audit_export_max_days)
    except ExportRangeError as error:
        raise typer.BadParameter(str(error).split(": ", 1)[-1], param_hint="--from") from None
    rows = 0
    try:
        with (
            _reader() as reader,
            out.open("wb") as file,
            Progress(
                SpinnerColumn(), TextColumn("{task.description}"), console=console
            ) as progress,
        ):
            task = progress.add_task("exporting")
            files = reader.export_files(caller(tenant).tenant_id, query)
            for chunk in reader.export(files, query):
                file.write(chunk)
                rows += chunk.count(b"\n")
                progress.update(task, description=f"{rows - 1:,} rows from {len(files)} file(s)")
    except StorageUnavailableError as error:
        console.print(f"audit storage unreachable: {error}")
        raise typer.Exit(2) from None
    console.print(f"{max(rows - 1, 0):,} rows written to {out}")


@app.command("report")
def report_command(
    start: Annotated[str, typer.Option("--from", help="first day YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--to", help="last day YYYY-MM-DD")],
    out: Annotated[Path, typer.Option(help="the file to write")],
    tenant: Annotated[str | None, typer.Option(help="[default BDG_TENANT or local]")] = None,
    html: Annotated[bool, typer.Option("--html", help="a printable HTML page, not CSV")] = False,
) -> None:
    """The period's audit report: actions by user and kind, costs, deploys and rollbacks,
    approvals and who gave them."""
    first, last = _day(start, "--from"), _day(end, "--to")
    assert first
    assert last
    query = ExportQuery(first, last)
    try:
        query.check(AuditSettings().bdg_audit_export_max_days)
    except ExportRangeError as error:
        raise typer.BadParameter(str(error).split(": ", 1)[-1], param_hint="--from") from None
    tenant_id = caller(tenant).tenant_id
    try:
        with _reader() as reader:
            folded = reader.report(tenant_id, query)
    except StorageUnavailableError as error:
        console.print(f"audit storage unreachable: {error}")
        raise typer.Exit(2) from None
    out.write_text(as_html(folded, tenant_id) if html else as_csv(folded))
    console.print(f"report of {sum(folded.actions.values()):,} actions written to {out}")


@app.command("rotate-key")
def rotate_key() -> None:
    """A new signing key in BDG_AUDIT_KEYS_DIR, used from the auditor's next file on; the old
    keys stay (and stay published), so rows they signed keep verifying."""
    settings = AuditSettings()
    key = Keyring(settings.keys_dir).rotate(datetime.now(UTC))
    console.print(f"audit key {key.kid} is now the active one ({settings.keys_dir})")


@app.command("verify")
def verify(
    tenant: Annotated[str | None, typer.Option(help="[default BDG_TENANT or local]")] = None,
    job: Annotated[str | None, typer.Option(help="only this job's files")] = None,
    start: Annotated[str | None, typer.Option("--from", help="first end date YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option("--to", help="last end date YYYY-MM-DD")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the report as JSON")] = False,
) -> None:
    """Check every audit file of the tenant: edited, deleted or reordered rows, truncated,
    replaced, deleted or unexpected files, signatures by unknown or wrong keys."""
    first, last = _day(start, "--from"), _day(end, "--to")
    if first and last and first > last:
        raise typer.BadParameter("must not be after --to", param_hint="--from")
    try:
        with _reader() as reader:
            report = reader.verify(caller(tenant).tenant_id, first, last, job)
    except StorageUnavailableError as error:
        console.print(f"audit storage unreachable: {error}")
        raise typer.Exit(2) from None
    if as_json:
        console.print_json(json.dumps(report.as_json()))
    else:
        _print(report)
    raise typer.Exit(0 if report.ok else 1)
