"""`bdg audit verify`: every audit file of a tenant checked against the log and the keys.

Prints each file's faults by line (or the JSON report with ``--json``); exits 0 only when every
file verifies, 1 when any does not, 2 when the storage cannot be reached.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated

import typer
from rich.console import Console

from bdg_audit.check import Report
from bdg_audit.reader import AuditReader
from bdg_audit.settings import AuditSettings
from bdg_audit.store import ObjectStore, StorageUnavailableError
from bdg_cli.context import caller, urls
from bdg_runtime.embedded import start_embedded

app = typer.Typer(help="The signed audit trail: verify it.", no_args_is_help=True)
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
    settings = AuditSettings()
    stack = None
    endpoint = settings.bdg_s3_endpoint
    if not endpoint:
        stack = start_embedded(settings.bdg_home, postgres=False, nats=False, s3=True)
        endpoint = stack.s3_url
    assert endpoint
    try:
        with urls() as (database_url, _):
            reader = AuditReader(
                ObjectStore.connect(endpoint, settings), database_url, settings.bdg_audit_prefix
            )
            report = reader.verify(caller(tenant).tenant_id, first, last, job)
    except StorageUnavailableError as error:
        console.print(f"audit storage unreachable: {error}")
        raise typer.Exit(2) from None
    finally:
        if stack is not None:
            stack.stop()
    if as_json:
        console.print_json(json.dumps(report.as_json()))
    else:
        _print(report)
    raise typer.Exit(0 if report.ok else 1)
